/**
 * Support of the security and fault tests (issue 4): a `terraform apply` whose output is watched
 * line by line while it runs (to interrupt it at a known step, or to order two concurrent
 * deploys), model variants with instance options the shared support does not list, and views of
 * the host that do not need the instance's venv.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runAsUser, type TestHostInfo, type TestUserRole, userProcesses } from "../../host/test-host";
import { type InstanceTweaks, instanceDir, type ModelVariant } from "./model";
import { type E2eProject, waitUntil } from "./project";

interface Line {
  /** When the line arrived (epoch milliseconds): comparable between two runs. */
  t: number;
  text: string;
}

interface LiveResult {
  code: number;
  output: string;
  ms: number;
  lines: Line[];
}

/** The environment E2eProject gives Terraform (its own is private). */
/** A running `terraform apply` of one stack of `project` (synthesized beforehand). */
export class LiveApply {
  readonly lines: Line[] = [];
  readonly done: Promise<LiveResult>;
  private readonly child: ChildProcess;
  private readonly t0 = Date.now();

  constructor(project: E2eProject, role: TestUserRole) {
    const stackDir = project.stackDir(role);
    if (!fs.existsSync(path.join(stackDir, ".terraform"))) {
      const init = project.terraform(role, "init", "-input=false");
      if (init.code !== 0) throw new Error(`terraform init failed:\n${init.output}`);
    }
    this.child = spawn("terraform", [`-chdir=${stackDir}`, "apply", "-auto-approve", "-input=false", "-no-color"], {
      cwd: project.dir,
      env: project.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const partial = { stdout: "", stderr: "" };
    const feed = (which: "stdout" | "stderr") => (d: Buffer) => {
      output += d;
      const text = partial[which] + d.toString();
      const parts = text.split("\n");
      partial[which] = parts.pop() ?? "";
      for (const p of parts) this.lines.push({ t: Date.now(), text: p });
    };
    this.child.stdout?.on("data", feed("stdout"));
    this.child.stderr?.on("data", feed("stderr"));
    const timer = setTimeout(() => this.child.kill("SIGTERM"), 280_000);
    this.done = new Promise((resolve) => {
      this.child.on("close", (code) => {
        clearTimeout(timer);
        for (const which of ["stdout", "stderr"] as const) {
          if (partial[which]) this.lines.push({ t: Date.now(), text: partial[which] });
        }
        resolve({ code: code ?? -1, output, ms: Date.now() - this.t0, lines: this.lines });
      });
    });
  }

  /** Arrival time (epoch ms) of the first line matching `re`, if any yet. */
  at(re: RegExp): number | undefined {
    return this.lines.find((l) => re.test(l.text))?.t;
  }

  async waitForLine(re: RegExp, timeoutMs = 60_000): Promise<number> {
    return waitUntil(`a line matching ${re}`, () => this.at(re), timeoutMs);
  }
}

/** The baseline (or `v`) with instance options of `role` set, including ones InstanceTweaks omits. */
export function withOptions(v: ModelVariant, role: TestUserRole, options: Record<string, unknown>): ModelVariant {
  const copy = JSON.parse(JSON.stringify(v)) as ModelVariant;
  copy[role].options = { ...(copy[role].options ?? {}), ...(options as InstanceTweaks) };
  return copy;
}

/**
 * Every long-lived process of the user, pid -> command line (what a crash or a failed deploy must
 * not change); the loops' `sleep 1` children, which come and go every second, and SSH sessions
 * that are closing are left out.
 */
export function userPidTable(host: TestHostInfo, role: TestUserRole): Record<number, string> {
  return Object.fromEntries(
    userProcesses(host.users[role].name)
      .filter((p) => !/^sleep \d+$|^sshd: /.test(p.cmd))
      .map((p) => [p.pid, p.cmd]),
  );
}

/** Processes of the whole machine whose command line matches `re` (pid, args). */
export function processesLike(re: RegExp): { pid: number; cmd: string }[] {
  const r = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), cmd: m[2] }))
    .filter((p) => re.test(p.cmd));
}

/** PIDs of the live processes of `uid` whose argv passes `match` (read from /proc: fast enough to poll). */
export function procScan(uid: number, match: (argv: string[]) => boolean): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.statSync(`/proc/${name}`).uid !== uid) continue;
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (argv.length > 0 && match(argv)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Polls `check` as often as the event loop allows (for events that last a fraction of a second),
 * yielding between polls so the test runner and child pipes are served; true when it held.
 */
export async function spinUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setImmediate(r));
  }
  return false;
}

/** SIGKILL, ignoring processes already gone. */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/**
 * XML-RPC `supervisor.getState` against the instance's control endpoint, as `role`, with the given
 * credentials (or none): "ok", "401" (refused for its credentials), or the error text.
 */
export function probe(role: TestUserRole, serverUrl: string, credentials?: { user: string; password: string }): string {
  const script = [
    "import sys, xmlrpc.client",
    "null = None",
    "from supervisor import xmlrpc as sx",
    `url, user, pw = ${JSON.stringify(serverUrl)}, ${JSON.stringify(credentials?.user ?? null)}, ${JSON.stringify(credentials?.password ?? null)}`,
    "t = sx.SupervisorTransport(user, pw, url)",
    "s = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=t)",
    "try:",
    "    s.supervisor.getState(); print('ok')",
    "except xmlrpc.client.ProtocolError as e:",
    "    print(e.errcode)",
    "except Exception as e:",
    "    print('%s: %s' % (type(e).__name__, e))",
  ].join("\n");
  // Debian's python sees supervisor; the instance's venv may be unreadable to `role`.
  const r = runAsUser(role, "/usr/bin/python3 -", { input: script });
  return (r.stdout.trim() || r.stderr.trim()).split("\n").pop() ?? "";
}

/** The password in a supervisorctl.conf text. */
export const passwordOf = (ctlConf: string) => /^password=(.*)$/m.exec(ctlConf)?.[1] ?? "";

/** Mode bits of a host path as an octal string ("700"). */
export const modeOf = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

/** Paths under `dir` (recursive) of the files whose bytes contain any of `needles`. */
export function filesContaining(dir: string, needles: string[], skip: (p: string) => boolean = () => false): string[] {
  const hits: string[] = [];
  const bufs = needles.filter(Boolean).map((n) => Buffer.from(n));
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (skip(p)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        let b: Buffer;
        try {
          b = fs.readFileSync(p);
        } catch {
          continue;
        }
        if (bufs.some((n) => b.includes(n))) hits.push(p);
      }
    }
  };
  walk(dir);
  return hits;
}

/** Every file and directory under `dir` (recursive), as paths. */
export function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f));
}

/** The instance's current key and its `{SHA}` hash (read as root on the host). */
export function instanceSecrets(host: TestHostInfo, role: TestUserRole): { key: string; hash: string } {
  const dir = instanceDir(host, role);
  const key = fs.readFileSync(`${dir}/secret/key`, "utf8").trim();
  const hash = /password=(\{SHA\}[0-9a-f]{40})/.exec(fs.readFileSync(`${dir}/secret/auth.conf`, "utf8"))?.[1] ?? "";
  if (key.length < 32 || !hash) throw new Error(`no key or hash for ${role} in ${dir}/secret`);
  return { key, hash };
}
