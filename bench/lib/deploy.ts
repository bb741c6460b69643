/**
 * Part deploy: the test site (testkit) deployed to the local test host by the project's own app,
 * through `npx cdktf deploy` and through `terraform apply`, and the same programs deployed the JAWS
 * way by a plain script (bench/baseline/jaws-deploy.sh). Each with its wall time, the remote part,
 * the SSH sessions sshd accepted and the processes restarted (supervisord's start time and pid of
 * every process before and after, read locally as the user: no SSH session).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { JawsServiceOptions } from "../../constructs";
import { controlCommand } from "../../constructs/host-layout";
import { type RunOptions, type RunResult, runOk, type StampedLine, start } from "../../testkit/commands";
import { instanceState, restartedBetween, type Snapshot, snapshot, supervisorState } from "../../testkit/processes";
import { Project, REPO } from "../../testkit/project";
import {
  countSshSessions,
  ROLES,
  resetUserHome,
  runAsUser,
  sshLogOffset,
  sshOptions,
  startTestHost,
  stopTestHost,
  type TestHostInfo,
  type TestUserRole,
} from "../../testkit/test-host";
import { DEPLOYMENT, GROUP, instanceDir, oneShot, shellLoop, stackName, type Variant } from "../../testkit/test-site";
import type { PartResult } from "./synth";
import { type Goal, log, type Row, row } from "./table";

/** Two loops and a one-shot per instance, as the JAWS instances have daemons and a deploy step; `tick` is what a change touches. */
function programs(tick: number): Variant {
  // startsecs 1 on both sides (JAWS used 3; the same value for both is what matters).
  const loop = (marker: string): JawsServiceOptions => ({ command: shellLoop(marker), startsecs: 1 });
  return {
    jaws: { services: { ticker: loop(`jaws-tick-v${tick}`), pinger: loop("jaws-ping"), setup: oneShot("jaws-setup-done") } },
    jtm: { services: { worker: loop("jtm-work"), poller: loop("jtm-poll"), "deploy-worker": oneShot("jtm-deploy-worker-done") } },
  };
}

// ---------------------------------------------------------------------------------------------
// the baseline: a plain supervisord per user (the config JAWS generated), deployed by a script

const baselineDir = (info: TestHostInfo, role: TestUserRole) => `${info.users[role].home}/jaws-baseline/${role}-${DEPLOYMENT}`;

/**
 * The supervisord.conf JAWS generated for Cori: the same [supervisord] settings, programs through
 * shims, one group. The control endpoint is a unix socket in the instance directory instead of
 * inet_http_server on 0.0.0.0 with a password: the same supervisorctl round trips, no open port.
 */
function baselineConfig(dir: string, role: TestUserRole, services: Record<string, JawsServiceOptions>): string {
  const program = ([name, s]: [string, JawsServiceOptions]) => `[program:${name}]
command=${dir}/shims/${name}.sh
numprocs=1
${s.oneShot ? "startsecs=0\nstartretries=0\nautorestart=false" : "startsecs=1\nstartretries=3\nautorestart=unexpected"}
stopasgroup=true
killasgroup=true
stdout_logfile=${dir}/log/${name}.out.log
stderr_logfile=${dir}/log/${name}.err.log
`;
  return `[unix_http_server]
file=${dir}/supervisor.sock
chmod=0700

[supervisord]
logfile=${dir}/${role}-log
logfile_maxbytes=50MB
logfile_backups=2
loglevel=info
pidfile=${dir}/${role}-pidfile
nodaemon=false
minfds=1024
minprocs=200
identifier=supervisor-${role}-${DEPLOYMENT}
directory=${dir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${dir}/supervisor.sock

${Object.entries(services).map(program).join("\n")}
[group:${GROUP}]
programs=${Object.keys(services).join(",")}
priority=999
`;
}

/** What the CI job had in its checkout, per instance: supervisord.conf and the shims (locale, then exec). */
function writeBaselineSources(src: string, info: TestHostInfo, v: Variant): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  for (const role of ROLES) {
    fs.rmSync(path.join(src, role), { recursive: true, force: true });
    fs.mkdirSync(path.join(src, role, "shims"), { recursive: true });
    fs.writeFileSync(path.join(src, role, "supervisord.conf"), baselineConfig(baselineDir(info, role), role, v[role].services));
    for (const [name, s] of Object.entries(v[role].services)) {
      const shim = `#!/bin/bash\nexport LC_ALL=en_US.UTF-8 LANG=en_US.UTF-8 PYTHONIOENCODING=utf-8\nexec ${(s.command as string[]).map(q).join(" ")}\n`;
      fs.writeFileSync(path.join(src, role, "shims", `${name}.sh`), shim, { mode: 0o755 });
    }
  }
}

/** Untimed set-up: JAWS started supervisord by hand once; its deploy job never did. */
async function startBaseline(info: TestHostInfo, src: string): Promise<void> {
  for (const role of ROLES) {
    const dir = baselineDir(info, role);
    fs.mkdirSync(path.join(dir, "log"), { recursive: true });
    fs.cpSync(path.join(src, role), dir, { recursive: true });
    runOk("chown", ["-R", `${info.users[role].uid}:${info.users[role].gid}`, path.dirname(dir)]);
    const r = runAsUser(role, `cd ${dir} && setsid /usr/bin/supervisord -c ${dir}/supervisord.conf </dev/null >/dev/null 2>&1`);
    if (r.code !== 0) throw new Error(`baseline supervisord of ${role} did not start: ${r.output}`);
  }
  for (const deadline = Date.now() + 30_000; ; await new Promise((res) => setTimeout(res, 300))) {
    let states: { state: string }[] = [];
    try {
      states = ROLES.flatMap((role) => Object.values(supervisorState(role, `${baselineDir(info, role)}/supervisord.conf`).processes));
    } catch {
      // not listening yet
    }
    if (states.length === 6 && states.every((p) => p.state === "RUNNING" || p.state === "EXITED")) return;
    if (Date.now() > deadline) throw new Error(`baseline supervisors not up: ${JSON.stringify(states)}`);
  }
}

// ---------------------------------------------------------------------------------------------

const [CDKTF, TERRAFORM, SCRIPT] = ["npx cdktf deploy", "terraform apply", "jaws-deploy.sh"];
const SCENARIOS = ["cold", "no-op", "one service changed"] as const;

interface Figure {
  readonly scenario: (typeof SCENARIOS)[number];
  /** CDKTF, TERRAFORM or SCRIPT. */
  readonly via: string;
  readonly wallMs: number;
  /** From the first provisioner line to the last "complete" line: Terraform's time on the host (the script: all of it). */
  readonly remoteMs: number;
  /** CDKTF: until Terraform's first line (cdktf-cli start-up and the synth). */
  readonly beforeTerraformMs: number;
  readonly sshSessions: number;
  readonly restarted: string[];
  /** Processes and supervisords that did not run before (a cold deploy starts them all). */
  readonly started: number;
  readonly ok: boolean;
  /** The command's output, each line with the second it arrived at. */
  readonly output: string[];
}

/** A deploy's result, its output lines stamped (epoch ms), and when it started. */
type Timed = { r: RunResult; lines: readonly StampedLine[]; t0: number };

async function timed(cmd: string, args: string[], opts: RunOptions): Promise<Timed> {
  const t0 = Date.now();
  const r = await start(cmd, args, { timeoutMs: 600_000, ...opts }).done;
  return { r, lines: r.lines, t0 };
}

/** One deploy, with the host's processes and sshd's log before and after it. */
async function measure(info: TestHostInfo, scenario: Figure["scenario"], via: string, state: () => Snapshot, deploy: () => Promise<Timed>) {
  const before = state();
  const offset = sshLogOffset(info);
  const { r, lines, t0 } = await deploy();
  // sshd logs the login before the command runs: nothing is left to flush once the command is done.
  const sshSessions = countSshSessions(info, offset).sessions;
  const diff = restartedBetween(before, state());
  const at = (re: RegExp) => lines.filter((l) => re.test(l.line)).map((l) => l.t);
  const [first, last] = [at(/Provisioning with '|Destroying\.\.\./)[0], at(/(Creation|Destruction) complete after/).at(-1)];
  const f: Figure = {
    scenario,
    via,
    wallMs: r.ms,
    remoteMs: via === SCRIPT ? r.ms : first !== undefined && last !== undefined ? last - first : 0,
    beforeTerraformMs: via === CDKTF ? (at(/Initializing the backend/)[0] ?? Number.NaN) - t0 : Number.NaN,
    sshSessions,
    restarted: diff.restarted,
    started: diff.added.length + diff.supervisordRestarted.filter((role) => !before.supervisord[role]).length,
    ok: r.code === 0,
    output: lines.map((l) => `${((l.t - t0) / 1000).toFixed(2).padStart(6)} ${l.line}`),
  };
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const what = `${secs(f.wallMs)}, remote ${secs(f.remoteMs)}, ${sshSessions} SSH sessions, restarted [${f.restarted}], ${f.started} started`;
  log(`  ${scenario.padEnd(20)} ${via.padEnd(17)} ${what}${f.ok ? "" : `  FAILED\n${r.output}`}`);
  return f;
}

export async function benchDeploy(repeats: number): Promise<PartResult> {
  log("== deploy: local test host");
  if (process.getuid?.() !== 0) return { rows: [], details: {}, skipped: "not root: the test host needs root (users, sshd)" };
  log("  starting the test host (waits while e2e tests hold its lock)...");
  const info = await startTestHost({ lockTimeoutMs: 30 * 60_000 });
  const project = new Project(info, { viaApp: true });
  // For `npx cdktf`, as in a checkout.
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project.dir, "node_modules"));
  const src = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-baseline-"));
  const cleanup = () => {
    project.remove();
    fs.rmSync(src, { recursive: true, force: true });
    try {
      for (const role of ROLES) resetUserHome(info, role);
    } finally {
      stopTestHost(info);
    }
  };
  process.once("exit", cleanup); // Ctrl-C
  const figures: Figure[] = [];
  try {
    for (const role of ROLES) resetUserHome(info, role);
    let v = programs(0);
    const none = { supervisord: 0, processes: {} };
    const ours = () => snapshot((role) => (fs.existsSync(`${instanceDir(role)}/venv`) ? instanceState(role) : none));
    const theirs = () => snapshot((role) => supervisorState(role, `${baselineDir(info, role)}/supervisord.conf`));
    const deploys: Record<string, () => Promise<Timed>> = {
      // Synth, plan and apply of both stacks by cdktf-cli, the way CI runs it.
      [CDKTF]: () => {
        project.setVariant(v);
        return timed("npx", ["cdktf", "deploy", ...ROLES.map(stackName), "--auto-approve"], { cwd: project.dir, env: project.env() });
      },
      // Synth without cdktf-cli (main.ts run by tsx), then `terraform apply` of each stack.
      [TERRAFORM]: async () => {
        const t0 = Date.now();
        project.synth(v);
        const rs: RunResult[] = [];
        for (const role of ROLES) rs.push(await project.startTerraform(role, ["apply", "-auto-approve", "-input=false"]).done);
        return { r: { ...(rs.find((r) => r.code !== 0) ?? rs[0]), ms: Date.now() - t0 }, lines: rs.flatMap((r) => r.lines), t0 };
      },
      [SCRIPT]: () => {
        const specs = ROLES.map((role) => [
          info.users[role].name,
          info.users[role].privateKeyPath,
          path.join(src, role),
          baselineDir(info, role),
        ]);
        const args = [
          path.join(REPO, "bench", "baseline", "jaws-deploy.sh"),
          info.host,
          String(info.port),
          GROUP,
          ...specs.map((x) => x.join(":")),
        ];
        return timed("bash", args, { env: { ...process.env, SSH_OPTS: sshOptions(info).join(" ") } });
      },
    };
    for (const via of [CDKTF, TERRAFORM, SCRIPT]) {
      if (via === TERRAFORM) {
        // Untimed: the project inits each stack dir once (cdktf deploy has initialised them already).
        for (const role of ROLES) project.terraform(role, ["validate"]);
      } else if (via === SCRIPT) {
        // Our instances shut down first, so that both run on an otherwise idle host.
        for (const role of ROLES) runAsUser(role, [...controlCommand(instanceDir(role)), "shutdown", "--timeout", "60"].join(" "));
        writeBaselineSources(src, info, v);
        await startBaseline(info, src);
      }
      for (const scenario of SCENARIOS.filter((x) => x !== "cold" || via === CDKTF)) {
        // The no-op `terraform apply` once, like the cold deploy.
        for (let i = 0; i < (scenario === "cold" || (scenario === "no-op" && via === TERRAFORM) ? 1 : repeats); i++) {
          if (scenario === "one service changed") {
            v = programs(figures.length);
            writeBaselineSources(src, info, v);
          }
          const f = await measure(info, scenario, via, via === SCRIPT ? theirs : ours, deploys[via]);
          figures.push(f);
          if (!f.ok && scenario === "cold") throw new Error("cold deploy failed: see above");
        }
      }
    }
  } finally {
    process.removeListener("exit", cleanup);
    cleanup();
  }
  return { rows: deployRows(figures), details: figures };
}

function deployRows(figures: readonly Figure[]): Row[] {
  const rows: Row[] = [];
  for (const [via, scenario] of [CDKTF, TERRAFORM].flatMap((via) => SCENARIOS.map((s) => [via, s] as const))) {
    if (via === TERRAFORM && scenario === "cold") continue;
    const ours = figures.filter((f) => f.scenario === scenario && f.via === via);
    const base = figures.filter((f) => f.scenario === scenario && f.via === SCRIPT);
    const tag = `${scenario} (${via}${ours.length > 1 ? `, median of ${ours.length}` : ""})`;
    /** Medians (max: the largest) of ours and of the script. */
    const add = (figure: string, unit: "s" | "n", pick: (f: Figure) => number, max?: boolean, goal?: Goal) => {
      const of = (xs: readonly Figure[]) => (max ? Math.max(...xs.map(pick)) : xs.map(pick));
      rows.push(row("deploy", `${tag}: ${figure}`, unit, of(ours), base.length ? [of(base), `JAWS script, ${scenario}`] : undefined, goal));
    };
    const failed = ours.filter((f) => !f.ok).length;
    add(`wall${failed ? ` [${failed} FAILED]` : ""}`, "s", (f) => f.wallMs);
    if (via === CDKTF)
      rows.push(
        row(
          "deploy",
          `${tag}: until Terraform starts (cdktf-cli + synth)`,
          "s",
          ours.map((f) => f.beforeTerraformMs),
        ),
      );
    add("remote part", "s", (f) => f.remoteMs);
    if (scenario === "cold") {
      add("SSH sessions (max)", "n", (f) => f.sshSessions, true);
      rows.push(row("deploy", `${tag}: processes started (supervisord + programs)`, "n", ours[0].started));
      continue;
    }
    const [sessions, restarts] = scenario === "no-op" ? [0, 0] : [2, 1];
    add("SSH sessions (max)", "n", (f) => f.sshSessions, true, [sessions ? `<= ${sessions}` : "0", (o) => o <= sessions]);
    const n = ours.map((f) => f.restarted.length);
    const [lo, hi] = [Math.min(...n), Math.max(...n)];
    const goal: Goal = [restarts ? "exactly 1" : "0", () => lo === hi && hi === restarts];
    add(`processes restarted${lo !== hi ? ` (${lo}..${hi})` : ""}`, "n", (f) => f.restarted.length, true, goal);
  }
  return rows;
}
