/**
 * Part 2 and 3 of the benchmark: deploys to the local test host (a private sshd on 127.0.0.1 and
 * two Unix users, __tests__/host/test-host.ts), ours through `npx cdktf deploy` / `terraform
 * apply`, and the JAWS way through a plain shell script (bench/baseline/jaws-deploy.sh), each
 * with its wall time, the remote part, the SSH sessions sshd accepted, and the processes it
 * restarted (start time / pid of every process before and after, read locally with runuser:
 * no SSH session).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { automationEnv, writeCdktfProject } from "../../__tests__/e2e/support/commands";
import { DEPLOYMENT, GROUP, instanceDir, ROLES } from "../../__tests__/e2e/support/model";
import {
  countSshSessions,
  findExecutable,
  resetUserHome,
  SYSTEM_PYTHON,
  sshLogOffset,
  sshOptions,
  startTestHost,
  stopTestHost,
  TEST_USERS,
  type TestHostInfo,
  type TestUserRole,
} from "../../__tests__/host/test-host";
import type { JawsServiceOptions } from "../../constructs";
import type { BenchModel } from "../apps/deploy-app";
import { onInterrupt, type RunResult, run, runOk, type StampedLine } from "./proc";

const REPO = path.resolve(__dirname, "..", "..");
const STACK: Record<TestUserRole, string> = { jaws: "jaws-bench", jtm: "jtm-bench" };
const RUNUSER = findExecutable("runuser") ?? "/usr/sbin/runuser";
const PROCINFO = fs.readFileSync(path.join(__dirname, "procinfo.py"), "utf8");

// ---------------------------------------------------------------------------------------------
// the programs: the same for ours and for the baseline

/** What runs on the host; `tick` names the version of the one program the change touches. */
export interface Programs {
  readonly tick: string;
}

interface Program {
  readonly argv: readonly string[];
  readonly oneShot?: boolean;
}

const loop = (marker: string): Program => ({
  argv: ["/bin/sh", "-c", `while true; do echo "${marker} $(date +%s)"; sleep 1; done`],
});
const once = (text: string): Program => ({ argv: ["/bin/sh", "-c", `echo ${text}; exit 0`], oneShot: true });

/** Two loops and a one-shot per instance, as the JAWS instances have daemons and a deploy step. */
function programs(role: TestUserRole, p: Programs): Record<string, Program> {
  return role === "jaws"
    ? { ticker: loop(`jaws-${p.tick}`), pinger: loop("jaws-ping"), setup: once("jaws-setup-done") }
    : { worker: loop("jtm-work"), poller: loop("jtm-poll"), "deploy-worker": once("jtm-deploy-worker-done") };
}

/** startsecs 1 for the loops in both setups (JAWS used 3; the same value on both sides is what matters). */
function serviceOptions(p: Program): JawsServiceOptions {
  return p.oneShot ? { command: p.argv, oneShot: true } : { command: p.argv, startsecs: 1 };
}

function benchModel(info: TestHostInfo, p: Programs): BenchModel {
  return {
    host: info.host,
    port: info.port,
    hostKey: info.hostPublicKey,
    deployment: DEPLOYMENT,
    instances: ROLES.map((role) => ({
      stack: STACK[role],
      name: role,
      user: info.users[role].name,
      privateKeyFile: info.users[role].privateKeyPath,
      baseDirectory: `${info.users[role].home}/jaws-supervisor`,
      services: Object.fromEntries(Object.entries(programs(role, p)).map(([n, prog]) => [n, serviceOptions(prog)])),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// looking at the host without SSH

interface ProcInfo {
  supervisord: number;
  processes: Record<string, { pid: number; start: number; state: string }>;
}

async function procInfo(role: TestUserRole, python: string, ctlConf: string): Promise<ProcInfo> {
  const user = TEST_USERS[role];
  const r = await run(RUNUSER, ["-u", user, "--", python, "-", ctlConf], {
    input: PROCINFO,
    cwd: "/",
    env: { PATH: "/usr/bin:/bin", HOME: `/home/${user}`, LANG: "C.UTF-8" },
    timeoutMs: 30_000,
  });
  if (r.code !== 0) return { supervisord: 0, processes: {} };
  return JSON.parse(r.stdout) as ProcInfo;
}

type HostState = Record<TestUserRole, ProcInfo>;

export interface Restarts {
  /** Processes that ran (or had run, one-shots) before and were started again. */
  restarted: number;
  /** Of those, long-running ones (RUNNING before). */
  restartedRunning: number;
  /** Processes that did not exist before (a cold deploy starts them all). */
  started: number;
  /** supervisord processes replaced or started. */
  supervisordStarted: number;
  names: string[];
}

function compare(before: HostState, after: HostState): Restarts {
  const out: Restarts = { restarted: 0, restartedRunning: 0, started: 0, supervisordStarted: 0, names: [] };
  for (const role of ROLES) {
    const b = before[role];
    const a = after[role];
    if (a.supervisord !== 0 && a.supervisord !== b.supervisord) out.supervisordStarted++;
    for (const [name, pa] of Object.entries(a.processes)) {
      const pb = b.processes[name];
      if (!pb || pb.start === 0) {
        if (pa.start !== 0) out.started++;
        continue;
      }
      if (pa.start !== pb.start || (pa.pid !== 0 && pb.pid !== 0 && pa.pid !== pb.pid)) {
        out.restarted++;
        if (pb.state === "RUNNING") out.restartedRunning++;
        out.names.push(`${role}/${name}`);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the remote part, read off Terraform's progress lines (stamped on arrival)

/**
 * From the first line of a provisioner (or of a destroy, which runs the destroy-time
 * provisioner) to the last "complete" line of a resource: the time Terraform spent on the host.
 */
export function remoteWindowMs(lines: readonly StampedLine[]): number {
  let first: number | undefined;
  let last: number | undefined;
  for (const { t, line } of lines) {
    if (first === undefined && /Provisioning with '|Destroying\.\.\./.test(line)) first = t;
    if (/(Creation|Destruction) complete after/.test(line)) last = t;
  }
  return first === undefined || last === undefined ? 0 : Math.max(0, last - first);
}

// ---------------------------------------------------------------------------------------------

export interface DeployFigure {
  readonly scenario: string;
  /** How it was run: `npx cdktf deploy`, `terraform apply`, `jaws-deploy.sh`. */
  readonly via: string;
  readonly wallMs: number;
  readonly remoteMs: number;
  /** `cdktf deploy` only: until Terraform's first line (cdktf-cli start-up and the synth). */
  readonly beforeTerraformMs?: number;
  readonly sshSessions: number;
  readonly restarts: Restarts;
  readonly ok: boolean;
  readonly error?: string;
  /** The command's output, each line with the second it arrived at. */
  readonly output: string[];
}

export interface DeployResults {
  readonly ours: DeployFigure[];
  readonly baseline: DeployFigure[];
  readonly skipped?: string;
}

class BenchProject {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly info: TestHostInfo) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-deploy-"));
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(this.dir, "node_modules"));
    const rc = writeCdktfProject(this.dir, `npx tsx ${path.join(REPO, "bench", "apps", "deploy-app.ts")}`, "jaws-deploy-bench");
    this.env = automationEnv(rc, { CI: "1" });
  }

  setModel(p: Programs): void {
    fs.writeFileSync(path.join(this.dir, "bench-model.json"), JSON.stringify(benchModel(this.info, p)));
  }

  /** `npx cdktf deploy <both stacks> --auto-approve`: synth, plan and apply, the way CI runs it. */
  cdktfDeploy(p: Programs): Promise<RunResult> {
    this.setModel(p);
    return run("npx", ["cdktf", "deploy", ...ROLES.map((r) => STACK[r]), "--auto-approve"], {
      cwd: this.dir,
      env: this.env,
      timeoutMs: 600_000,
    });
  }

  /** Synth without cdktf-cli (the app run by tsx), then `terraform apply` of each stack. */
  async terraformApply(p: Programs): Promise<RunResult> {
    this.setModel(p);
    const t0 = performance.now();
    const lines: StampedLine[] = [];
    let out = "";
    const synth = await run(path.join(REPO, "node_modules", ".bin", "tsx"), [path.join(REPO, "bench", "apps", "deploy-app.ts")], {
      cwd: this.dir,
      env: { ...this.env, CDKTF_OUTDIR: path.join(this.dir, "cdktf.out") },
      timeoutMs: 120_000,
    });
    out += synth.stdout + synth.stderr;
    if (synth.code !== 0) return { ...synth, ms: performance.now() - t0 };
    for (const role of ROLES) {
      const chdir = `-chdir=${path.join(this.dir, "cdktf.out", "stacks", STACK[role])}`;
      if (!fs.existsSync(path.join(this.dir, "cdktf.out", "stacks", STACK[role], ".terraform"))) {
        await runOk("terraform init", "terraform", [chdir, "init", "-input=false", "-no-color"], { env: this.env, timeoutMs: 120_000 });
      }
      const offset = performance.now() - t0;
      const r = await run("terraform", [chdir, "apply", "-auto-approve", "-input=false", "-no-color"], {
        env: this.env,
        timeoutMs: 600_000,
      });
      out += r.stdout + r.stderr;
      for (const l of r.lines) lines.push({ ...l, t: l.t + offset });
      if (r.code !== 0) return { ...r, ms: performance.now() - t0, stdout: out, lines };
    }
    return { code: 0, ms: performance.now() - t0, stdout: out, stderr: "", lines, timedOut: false };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// the baseline: a plain supervisord per user, deployed by a plain shell script

function baselineDir(info: TestHostInfo, role: TestUserRole): string {
  return `${info.users[role].home}/jaws-baseline/${role}-${DEPLOYMENT}`;
}

/**
 * The supervisord.conf JAWS generated for Cori (supervisord.md / jaws-deployment.md): the same
 * [supervisord] settings, programs through shims, one group. The control endpoint is a unix socket
 * in the instance directory instead of inet_http_server on 0.0.0.0 with a password: the same
 * supervisorctl round trips, without exposing a port on the machine.
 */
function baselineConfig(info: TestHostInfo, role: TestUserRole, p: Programs): string {
  const dir = baselineDir(info, role);
  const progs = programs(role, p);
  const lines = [
    "[unix_http_server]",
    `file=${dir}/supervisor.sock`,
    "chmod=0700",
    "",
    "[supervisord]",
    `logfile=${dir}/${role}-log`,
    "logfile_maxbytes=50MB",
    "logfile_backups=2",
    "loglevel=info",
    `pidfile=${dir}/${role}-pidfile`,
    "nodaemon=false",
    "minfds=1024",
    "minprocs=200",
    `identifier=supervisor-${role}-${DEPLOYMENT}`,
    `directory=${dir}`,
    "",
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "",
    "[supervisorctl]",
    `serverurl=unix://${dir}/supervisor.sock`,
    "",
  ];
  for (const [name, prog] of Object.entries(progs)) {
    lines.push(
      `[program:${name}]`,
      `command=${dir}/shims/${name}.sh`,
      "numprocs=1",
      ...(prog.oneShot
        ? ["startsecs=0", "startretries=0", "autorestart=false"]
        : ["startsecs=1", "startretries=3", "autorestart=unexpected"]),
      "stopasgroup=true",
      "killasgroup=true",
      `stdout_logfile=${dir}/log/${name}.out.log`,
      `stderr_logfile=${dir}/log/${name}.err.log`,
      "",
    );
  }
  lines.push(`[group:${GROUP}]`, `programs=${Object.keys(progs).join(",")}`, "priority=999", "");
  return lines.join("\n");
}

/** The JAWS shim: locale, then exec the command. */
function baselineShim(prog: Program): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    "#!/bin/bash",
    "export LC_ALL=en_US.UTF-8 LANG=en_US.UTF-8 PYTHONIOENCODING=utf-8",
    `exec ${prog.argv.map(q).join(" ")}`,
    "",
  ].join("\n");
}

/** Writes what the CI job would have in its checkout: per instance, supervisord.conf and shims/. */
function writeBaselineSources(root: string, info: TestHostInfo, p: Programs): void {
  for (const role of ROLES) {
    const d = path.join(root, role);
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(path.join(d, "shims"), { recursive: true });
    fs.writeFileSync(path.join(d, "supervisord.conf"), baselineConfig(info, role, p));
    for (const [name, prog] of Object.entries(programs(role, p))) {
      fs.writeFileSync(path.join(d, "shims", `${name}.sh`), baselineShim(prog), { mode: 0o755 });
    }
  }
}

async function asUser(role: TestUserRole, command: string): Promise<RunResult> {
  const user = TEST_USERS[role];
  return run(RUNUSER, ["-u", user, "--", "bash", "-c", command], {
    cwd: "/",
    env: { PATH: "/usr/bin:/bin", HOME: `/home/${user}`, LANG: "C.UTF-8", USER: user, LOGNAME: user },
    timeoutMs: 120_000,
  });
}

/** Untimed set-up: JAWS started supervisord by hand once; the deploy script never did. */
async function startBaselineSupervisors(info: TestHostInfo, src: string): Promise<void> {
  for (const role of ROLES) {
    const dir = baselineDir(info, role);
    const user = info.users[role];
    fs.mkdirSync(path.join(dir, "log"), { recursive: true });
    fs.cpSync(path.join(src, role), dir, { recursive: true });
    await runOk("chown baseline dir", "chown", ["-R", `${user.uid}:${user.gid}`, path.dirname(dir)]);
    const r = await asUser(role, `cd ${dir} && setsid /usr/bin/supervisord -c ${dir}/supervisord.conf </dev/null >/dev/null 2>&1`);
    if (r.code !== 0) throw new Error(`baseline supervisord of ${role} did not start: ${r.stderr}`);
  }
  // Wait until every long-running program is RUNNING.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = await baselineState(info);
    const all = ROLES.flatMap((r) => Object.values(states[r].processes));
    if (all.length === 6 && all.every((x) => x.state === "RUNNING" || x.state === "EXITED")) return;
    if (Date.now() > deadline) throw new Error(`baseline supervisors not up: ${JSON.stringify(states)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

async function baselineState(info: TestHostInfo): Promise<HostState> {
  const out = {} as HostState;
  for (const role of ROLES) out[role] = await procInfo(role, SYSTEM_PYTHON, `${baselineDir(info, role)}/supervisord.conf`);
  return out;
}

async function ourState(info: TestHostInfo): Promise<HostState> {
  const out = {} as HostState;
  for (const role of ROLES) {
    const dir = instanceDir(info, role);
    out[role] = fs.existsSync(`${dir}/venv/bin/python`)
      ? await procInfo(role, `${dir}/venv/bin/python`, `${dir}/secret/supervisorctl.conf`)
      : { supervisord: 0, processes: {} };
  }
  return out;
}

/** The baseline deploy of both instances, as the JAWS CI job ran it (see jaws-deploy.sh). */
function baselineDeploy(info: TestHostInfo, src: string): Promise<RunResult> {
  const args = [
    path.join(REPO, "bench", "baseline", "jaws-deploy.sh"),
    info.host,
    String(info.port),
    GROUP,
    ...ROLES.flatMap((role) => [
      `${info.users[role].name}:${info.users[role].privateKeyPath}:${path.join(src, role)}:${baselineDir(info, role)}`,
    ]),
  ];
  return run("bash", args, {
    env: { ...process.env, SSH_OPTS: sshOptions(info).join(" ") },
    timeoutMs: 300_000,
  });
}

// ---------------------------------------------------------------------------------------------

async function measure(
  info: TestHostInfo,
  scenario: string,
  via: string,
  state: () => Promise<HostState>,
  action: () => Promise<RunResult>,
  log: (s: string) => void,
): Promise<DeployFigure> {
  const before = await state();
  const offset = sshLogOffset(info);
  const r = await action();
  // sshd logs the login before the command runs: nothing is left to flush once the command is done.
  const sessions = countSshSessions(info, offset).sessions;
  const after = await state();
  const restarts = compare(before, after);
  const fig: DeployFigure = {
    scenario,
    via,
    wallMs: r.ms,
    remoteMs: via === "jaws-deploy.sh" ? r.ms : remoteWindowMs(r.lines),
    beforeTerraformMs: via === "npx cdktf deploy" ? r.lines.find((l) => /Initializing the backend/.test(l.line))?.t : undefined,
    sshSessions: sessions,
    restarts,
    ok: r.code === 0,
    error: r.code === 0 ? undefined : `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-30).join("\n"),
    output: r.lines.map((l) => `${(l.t / 1000).toFixed(2).padStart(6)} ${l.line}`),
  };
  if (process.env.BENCH_VERBOSE) log(fig.output.join("\n"));
  log(
    `  ${scenario.padEnd(22)} ${via.padEnd(18)} ${(r.ms / 1000).toFixed(2)} s, remote ${(fig.remoteMs / 1000).toFixed(2)} s, ` +
      `${sessions} SSH sessions, ${restarts.restarted} restarted ${restarts.names.join(",")}, ${restarts.started} started${fig.ok ? "" : "  FAILED"}`,
  );
  if (!fig.ok) log(fig.error ?? "");
  return fig;
}

export interface DeployBenchOptions {
  /** One-service changes per way of deploying (medians are reported). */
  readonly repeats: number;
  readonly log: (s: string) => void;
}

export async function benchDeploy(opts: DeployBenchOptions): Promise<DeployResults> {
  const { log } = opts;
  if (process.getuid?.() !== 0) return { ours: [], baseline: [], skipped: "not root: the test host needs root (users, sshd)" };
  log("  starting the test host (waits while e2e tests hold its lock)...");
  const info = await startTestHost({ resetHomes: true, timeoutMs: 60_000 });
  const project = new BenchProject(info);
  const srcRoot = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-baseline-"));
  const ours: DeployFigure[] = [];
  const baseline: DeployFigure[] = [];
  const cleanup = () => {
    project.remove();
    fs.rmSync(srcRoot, { recursive: true, force: true });
    for (const role of ROLES) {
      try {
        resetUserHome(info, role);
      } catch (e) {
        log(`  cleanup: ${(e as Error).message}`);
      }
    }
    stopTestHost(info);
  };
  const forget = onInterrupt(cleanup);
  try {
    const st = () => ourState(info);
    let version = 0;
    const next = (): Programs => ({ tick: `tick-v${++version}` });
    let current = next();
    ours.push(await measure(info, "cold", "npx cdktf deploy", st, () => project.cdktfDeploy(current), log));
    if (!ours[0].ok) throw new Error("cold deploy failed: see above");
    for (let i = 0; i < opts.repeats; i++) {
      ours.push(await measure(info, "no-op", "npx cdktf deploy", st, () => project.cdktfDeploy(current), log));
    }
    for (let i = 0; i < opts.repeats; i++) {
      current = next();
      ours.push(await measure(info, "one service changed", "npx cdktf deploy", st, () => project.cdktfDeploy(current), log));
    }
    ours.push(await measure(info, "no-op", "terraform apply", st, () => project.terraformApply(current), log));
    for (let i = 0; i < opts.repeats; i++) {
      current = next();
      ours.push(await measure(info, "one service changed", "terraform apply", st, () => project.terraformApply(current), log));
    }

    // The baseline: stop our instances first so both run on an otherwise idle host.
    for (const role of ROLES) {
      const dir = instanceDir(info, role);
      await asUser(role, `${dir}/venv/bin/python ${dir}/lib/jawsctl.py --dir ${dir} shutdown --timeout 60`);
    }
    writeBaselineSources(srcRoot, info, current);
    await startBaselineSupervisors(info, srcRoot);
    const bst = () => baselineState(info);
    for (let i = 0; i < opts.repeats; i++) {
      baseline.push(await measure(info, "no-op", "jaws-deploy.sh", bst, () => baselineDeploy(info, srcRoot), log));
    }
    for (let i = 0; i < opts.repeats; i++) {
      current = next();
      writeBaselineSources(srcRoot, info, current);
      baseline.push(await measure(info, "one service changed", "jaws-deploy.sh", bst, () => baselineDeploy(info, srcRoot), log));
    }
  } finally {
    forget();
    cleanup();
  }
  return { ours, baseline };
}
