/**
 * A throw-away cdktf project in a temp directory: synthesizes a model variant and deploys its
 * stacks to the test host with real Terraform (fast path: `terraform -chdir=cdktf.out/stacks/<s>`),
 * or through the cdktf CLI (`cdktf deploy|diff|destroy`, the way CI runs it).
 * State goes to <project>/state/ (createStack's LocalBackend path, relative to the stack dir).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runAsUser, type TestHostInfo, type TestUserRole, userProcesses } from "../../host/test-host";
import { automationEnv, type CmdResult, runCommand, runCommandAsync, writeCdktfProject } from "./commands";
import { instanceDir, type ModelVariant, ROLES, stackName, synthInProcess } from "./model";

export const REPO = path.resolve(__dirname, "..", "..", "..");
export const BIN = path.join(REPO, "node_modules", ".bin");

export type { CmdResult };

export class E2eProject {
  readonly dir: string;
  readonly outdir: string;
  /** The environment every command of this project runs with (Terraform config, no prompts). */
  readonly env: NodeJS.ProcessEnv;
  private readonly initialised = new Set<string>();

  constructor(readonly info: TestHostInfo) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-e2e-"));
    this.outdir = path.join(this.dir, "cdktf.out");
    const rc = writeCdktfProject(this.dir, `${path.join(BIN, "tsx")} ${path.join(__dirname, "app.ts")}`, "jaws-deploy-e2e");
    this.env = automationEnv(rc, { CI: "1" });
  }

  /** Synthesizes `variant` (both stacks) into cdktf.out, in-process. */
  synth(variant: ModelVariant): void {
    synthInProcess(this.outdir, this.info, variant);
  }

  stackDir(role: TestUserRole): string {
    return path.join(this.outdir, "stacks", stackName(role));
  }

  run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): CmdResult {
    return runCommand(cmd, args, { cwd: opts.cwd ?? this.dir, env: this.env, timeoutMs: opts.timeoutMs });
  }

  /** Like run, without blocking the event loop (two stacks can apply at the same time). */
  runAsync(cmd: string, args: string[]): Promise<CmdResult> {
    return runCommandAsync(cmd, args, { cwd: this.dir, env: this.env });
  }

  terraform(role: TestUserRole, ...args: string[]): CmdResult {
    return this.run("terraform", [`-chdir=${this.stackDir(role)}`, ...args, "-no-color"]);
  }

  private init(role: TestUserRole): void {
    if (this.initialised.has(role) && fs.existsSync(path.join(this.stackDir(role), ".terraform"))) return;
    const r = this.terraform(role, "init", "-input=false");
    if (r.code !== 0) throw new Error(`terraform init of ${stackName(role)} failed:\n${r.output}`);
    this.initialised.add(role);
  }

  /** `terraform apply -auto-approve` of one synthesized stack. */
  apply(role: TestUserRole): CmdResult {
    this.init(role);
    return this.terraform(role, "apply", "-auto-approve", "-input=false");
  }

  /** `terraform plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error. */
  plan(role: TestUserRole): CmdResult {
    this.init(role);
    return this.terraform(role, "plan", "-detailed-exitcode", "-input=false");
  }

  destroy(role: TestUserRole): CmdResult {
    this.init(role);
    return this.terraform(role, "destroy", "-auto-approve", "-input=false");
  }

  /**
   * Synthesizes `variant` and applies the given stacks at the same time (they share nothing);
   * throws with Terraform's output when one fails.
   */
  async deploy(variant: ModelVariant, roles: readonly TestUserRole[] = ROLES): Promise<CmdResult[]> {
    this.synth(variant);
    for (const role of roles) this.init(role);
    const results = await Promise.all(
      roles.map((role) =>
        this.runAsync("terraform", [`-chdir=${this.stackDir(role)}`, "apply", "-auto-approve", "-input=false", "-no-color"]),
      ),
    );
    results.forEach((r, i) => {
      if (process.env.JAWS_E2E_TIMING) console.info(`apply ${stackName(roles[i])}: ${r.ms} ms`);
      if (r.code !== 0) throw new Error(`terraform apply of ${stackName(roles[i])} failed (exit ${r.code}):\n${r.output}`);
    });
    return results;
  }

  /** Runs the cdktf CLI (node_modules/.bin/cdktf) on the project with `variant` as its model. */
  cdktf(variant: ModelVariant, ...args: string[]): CmdResult {
    fs.writeFileSync(path.join(this.dir, "e2e-model.json"), JSON.stringify({ info: this.info, variant }));
    return this.run(path.join(BIN, "cdktf"), args);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Looking at the host (locally as the user, not over ssh: no sshd session is opened).

/** `jawsctl pids` of the instance in `dir`, through its own key: {"group:process": pid (0 when not running)}. */
export function jawsctlPids(role: TestUserRole, dir: string): Record<string, number> {
  const r = runAsUser(role, `${dir}/venv/bin/python ${dir}/lib/jawsctl.py --dir ${dir} pids`);
  if (r.code !== 0) throw new Error(`jawsctl pids of ${dir} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

interface ProcessState {
  state: string;
  pid: number;
  exitstatus: number;
  /** When supervisord last started it (epoch seconds): changes when a one-shot runs again. */
  start: number;
  description: string;
}

/** Every process supervisord knows, by "group:process", through the instance's own key. */
export function processStates(info: TestHostInfo, role: TestUserRole): Record<string, ProcessState> {
  const dir = instanceDir(info, role);
  const script = [
    "import json, sys",
    `sys.path.insert(0, ${JSON.stringify(`${dir}/lib`)})`,
    "import jawsctl",
    `s = jawsctl.server(${JSON.stringify(dir)})`,
    "print(json.dumps({'%s:%s' % (i['group'], i['name']): {'state': i['statename'], 'pid': i['pid'], " +
      "'exitstatus': i['exitstatus'], 'start': i['start'], 'description': i['description']} for i in s.supervisor.getAllProcessInfo()}))",
  ].join("\n");
  const r = runAsUser(role, `${dir}/venv/bin/python -`, { input: script });
  if (r.code !== 0) throw new Error(`process states of ${role} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as Record<string, ProcessState>;
}

/** PID of the instance's supervisord according to its pidfile, if that process is alive. */
function supervisordPid(info: TestHostInfo, role: TestUserRole): number | undefined {
  const file = `${instanceDir(info, role)}/run/supervisord.pid`;
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(file, "utf8").trim(), 10);
  } catch {
    return undefined;
  }
  return userProcesses(info.users[role].name).some((p) => p.pid === pid) ? pid : undefined;
}

/** Owner (uid) of a live process. */
export function processOwner(pid: number): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

/** Polls `check` every `everyMs` until it returns a value (not undefined/false), or throws with `what`. */
export async function waitUntil<T>(what: string, check: () => T | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Waits until `check` returns true (polling every 200 ms), or throws with `what`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  await waitUntil(what, check, timeoutMs, 200);
}

/** Every process of both instances, keyed "<role> <group>:<process>", plus each supervisord's PID. */
export interface Snapshot {
  supervisord: Record<TestUserRole, number | undefined>;
  processes: Record<string, ProcessState>;
}

export function snapshot(info: TestHostInfo, roles: readonly TestUserRole[] = ROLES): Snapshot {
  const processes: Record<string, ProcessState> = {};
  const supervisord = {} as Record<TestUserRole, number | undefined>;
  for (const role of roles) {
    supervisord[role] = supervisordPid(info, role);
    for (const [name, p] of Object.entries(processStates(info, role))) processes[`${role} ${name}`] = p;
  }
  return { supervisord, processes };
}

/** "<role> <group>:<process>" -> pid, for readable assertion failures. */
export const pidsOf = (s: Snapshot) => Object.fromEntries(Object.entries(s.processes).map(([k, p]) => [k, p.pid]));

/**
 * What changed between two snapshots: processes whose PID or start time differs (a one-shot
 * that ran again has a new start time), added and removed ones, supervisords restarted.
 */
export function restartedBetween(before: Snapshot, after: Snapshot) {
  const restarted: string[] = [];
  for (const [k, a] of Object.entries(after.processes)) {
    const b = before.processes[k];
    if (b && (a.pid !== b.pid || a.start !== b.start)) restarted.push(k);
  }
  return {
    restarted: restarted.sort(),
    added: Object.keys(after.processes).filter((k) => !(k in before.processes)),
    removed: Object.keys(before.processes).filter((k) => !(k in after.processes)),
    supervisordRestarted: ROLES.filter((r) => before.supervisord[r] !== after.supervisord[r]),
  };
}

/** Live processes of the user whose command line contains `text`. */
export function processesMatching(info: TestHostInfo, role: TestUserRole, text: string) {
  return userProcesses(info.users[role].name).filter((p) => p.cmd.includes(text));
}

/** Text of a file on the host (read as root, locally). */
export function hostFile(info: TestHostInfo, role: TestUserRole, relPath: string): string {
  return fs.readFileSync(path.join(instanceDir(info, role), relPath), "utf8");
}

/**
 * A free TCP port on 127.0.0.1 below the ephemeral range (32768+), so no outgoing
 * connection (ssh, terraform) can take it between this check and supervisord's bind.
 */
export async function freeStablePort(): Promise<number> {
  const net = await import("node:net");
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free port in 20000-31999 on 127.0.0.1");
}
