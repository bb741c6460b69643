/**
 * Part deploy: the test site (testkit) deployed to the local test host by the project's own app,
 * through `npx cdktf deploy` and through `terraform apply`; the same programs deployed by the
 * strongest peers, an idiomatic Ansible playbook run tuned and with Mitogen (./ansible.ts), and the
 * JAWS way by a plain script (bench/baseline/jaws-deploy.sh). Every tool reaches the host's sshd
 * through a simulated link (./link.ts) at each one-way delay asked for. Each deploy with its wall
 * time, the remote part, the SSH connections and channels sshd logged and the processes restarted
 * (supervisord's start time and pid of every process before and after, read locally as the user: no
 * SSH session).
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
  sshRun,
  type TestHostInfo,
  type TestUserRole,
} from "../../testkit/test-host";
import { DEPLOYMENT, GROUP, instanceDir, oneShot, shellLoop, stackName, type Variant } from "../../testkit/test-site";
import { ANSIBLE_PACKAGES, AnsiblePeer, ansibleVersions, installAnsible } from "./ansible";
import { withTestHost } from "./host";
import { startLink } from "./link";
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

const [CDKTF, TERRAFORM, TUNED, MITOGEN, SCRIPT] = [
  "npx cdktf deploy",
  "terraform apply",
  "Ansible tuned",
  "Ansible + Mitogen",
  "jaws-deploy.sh",
] as const;
const WAYS = [CDKTF, TERRAFORM, TUNED, MITOGEN, SCRIPT] as const;
type Way = (typeof WAYS)[number];
const SCENARIOS = ["cold", "no-op", "one service changed"] as const;
type Scenario = (typeof SCENARIOS)[number];
/** The changed program (the ticker's command is what `programs(tick)` changes; "<role> <group>:<name>") and its startsecs. */
const CHANGED = { program: /^jaws [^:]+:ticker$/, startsecs: 1 };

interface Figure {
  readonly delayMs: number;
  readonly scenario: Scenario;
  readonly via: Way;
  readonly wallMs: number;
  /** From the first provisioner line to the last "complete" line: Terraform's time on the host (the others: all of it). */
  readonly remoteMs: number;
  /** CDKTF: until Terraform's first line (cdktf-cli start-up and the synth). */
  readonly beforeTerraformMs: number;
  /** SSH connections sshd accepted (`Accepted publickey`). */
  readonly sshSessions: number;
  /** SSH channels sshd opened (`Starting session`: a command, a shell or the sftp subsystem). */
  readonly sshChannels: number;
  readonly restarted: string[];
  /** Processes and supervisords that did not run before (a cold deploy starts them all). */
  readonly started: number;
  readonly ok: boolean;
  /** The command's output, each line with the second it arrived at. */
  readonly output: string[];
}

/** What one delay measured of the link itself. */
interface LinkFigures {
  readonly delayMs: number;
  /** Round trips of one byte through the link (ms). */
  readonly rttMs: number[];
  /** `ssh user@host true` through the link: one connection and one command (ms). */
  readonly sshOneCommandMs: number[];
}

/** A deploy's result, its output lines stamped (epoch ms), and when it started. */
type Timed = { r: RunResult; lines: readonly StampedLine[]; t0: number };

async function timed(cmd: string, args: string[], opts: RunOptions): Promise<Timed> {
  const t0 = Date.now();
  const r = await start(cmd, args, { timeoutMs: 600_000, ...opts }).done;
  return { r, lines: r.lines, t0 };
}

/** sshd's `Starting session` lines after byte `since` (one per channel it runs something in). */
function countSshChannels(info: TestHostInfo, since: number): number {
  const text = fs.readFileSync(info.sshdLog).subarray(since).toString("utf8");
  return [...text.matchAll(/(?:^|: )Starting session: /gm)].length;
}

/** One deploy, with the host's processes and sshd's log before and after it. */
async function measure(
  info: TestHostInfo,
  delayMs: number,
  scenario: Scenario,
  via: Way,
  state: () => Snapshot,
  deploy: () => Promise<Timed>,
) {
  const before = state();
  const offset = sshLogOffset(info);
  const { r, lines, t0 } = await deploy();
  // sshd logs the login before the command runs: nothing is left to flush once the command is done.
  const sshSessions = countSshSessions(info, offset).sessions;
  const sshChannels = countSshChannels(info, offset);
  const diff = restartedBetween(before, state());
  const at = (re: RegExp) => lines.filter((l) => re.test(l.line)).map((l) => l.t);
  const [first, last] = [at(/Provisioning with '|Destroying\.\.\./)[0], at(/(Creation|Destruction) complete after/).at(-1)];
  const terraform = via === CDKTF || via === TERRAFORM;
  const f: Figure = {
    delayMs,
    scenario,
    via,
    wallMs: r.ms,
    remoteMs: !terraform ? r.ms : first !== undefined && last !== undefined ? last - first : 0,
    beforeTerraformMs: via === CDKTF ? (at(/Initializing the backend/)[0] ?? Number.NaN) - t0 : Number.NaN,
    sshSessions,
    sshChannels,
    restarted: diff.restarted,
    started: diff.added.length + diff.supervisordRestarted.filter((role) => !before.supervisord[role]).length,
    ok: r.code === 0,
    output: lines.map((l) => `${((l.t - t0) / 1000).toFixed(2).padStart(6)} ${l.line}`),
  };
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const what = `${secs(f.wallMs)}, remote ${secs(f.remoteMs)}, ${sshSessions} conn, ${sshChannels} ch, restarted [${f.restarted}], ${f.started} started`;
  log(`  ${`${delayMs} ms`.padStart(5)} ${scenario.padEnd(20)} ${via.padEnd(17)} ${what}${f.ok ? "" : `  FAILED\n${r.output}`}`);
  return f;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface DeployOptions {
  /** Repetitions of each no-op and one-change deploy. */
  readonly repeats: number;
  /** One-way delays of the simulated link (ms). */
  readonly delaysMs: readonly number[];
  /** Fewer runs: the peers' no-op deploys are left out. */
  readonly quick: boolean;
}

export async function benchDeploy(o: DeployOptions): Promise<PartResult> {
  log(`== deploy: local test host behind a simulated link (one-way delay ${o.delaysMs.join(", ")} ms)`);
  if (process.getuid?.() !== 0) return { rows: [], details: {}, skipped: "not root: the test host needs root (users, sshd)" };
  const missing = installAnsible();
  const ways = WAYS.filter((w) => missing.length === 0 || (w !== TUNED && w !== MITOGEN));
  const notes = missing.length
    ? [`Ansible peers skipped: missing ${missing.join(", ")} (apt-get install ${ANSIBLE_PACKAGES.join(" ")})`]
    : [];
  return withTestHost(async ({ info: direct, waitMs: hostWaitMs, onCleanup }) => {
    notes.push(`deploy: the test host was up after ${(hostWaitMs / 1000).toFixed(0)} s (its lock, held by e2e tests, and its start)`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-deploy-"));
    const link = await startLink(direct.port);
    // Every tool reaches sshd through the link: the same host key, pinned at the link's port.
    const info: TestHostInfo = { ...direct, port: link.port, knownHostsFile: path.join(tmp, "known_hosts") };
    fs.writeFileSync(info.knownHostsFile, `[${info.host}]:${info.port} ${info.hostPublicKey}\n`);
    const src = path.join(tmp, "baseline-src");
    const peer = new AnsiblePeer(info, path.join(tmp, "ansible"));
    let project: Project | undefined;
    onCleanup(() => {
      project?.remove();
      link.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    });
    const figures: Figure[] = [];
    const links: LinkFigures[] = [];
    for (const delayMs of o.delaysMs) {
      await link.setDelay(delayMs);
      const rttMs = await link.measureRtt(10);
      const sshOneCommandMs = [1, 2, 3, 4, 5].map(() => {
        const r = sshRun(info, "jaws", "true");
        if (r.code !== 0) throw new Error(`ssh through the link failed: ${r.output}`);
        return r.ms;
      });
      links.push({ delayMs, rttMs, sshOneCommandMs });
      log(
        `  link at ${delayMs} ms one-way: measured RTT ${median(rttMs).toFixed(1)} ms (expected ${2 * delayMs} ms + overhead), ` +
          `ssh + one command ${median(sshOneCommandMs).toFixed(0)} ms (median of 5)`,
      );
      for (const role of ROLES) resetUserHome(direct, role);
      project?.remove();
      const p = new Project(info, { viaApp: true });
      project = p;
      // For `npx cdktf`, as in a checkout.
      fs.symlinkSync(path.join(REPO, "node_modules"), path.join(p.dir, "node_modules"));
      let v = programs(0);
      const none = { supervisord: 0, processes: {} };
      const ours = () => snapshot((role) => (fs.existsSync(`${instanceDir(role)}/venv`) ? instanceState(role) : none));
      const theirs = () => snapshot((role) => supervisorState(role, `${baselineDir(info, role)}/supervisord.conf`));
      const ansible = () => snapshot((role) => peer.state(role));
      const deploys: Record<Way, () => Promise<Timed>> = {
        // Synth, plan and apply of both stacks by cdktf-cli, the way CI runs it.
        [CDKTF]: () => {
          p.setVariant(v);
          return timed("npx", ["cdktf", "deploy", ...ROLES.map(stackName), "--auto-approve"], { cwd: p.dir, env: p.env() });
        },
        // Synth without cdktf-cli (main.ts run by tsx), then `terraform apply` of the stacks at once
        // (as cdktf deploy runs independent stacks, and CI's deploy jobs run in parallel).
        [TERRAFORM]: async () => {
          const t0 = Date.now();
          p.synth(v);
          const rs = await Promise.all(ROLES.map((role) => p.startTerraform(role, ["apply", "-auto-approve", "-input=false"]).done));
          return { r: { ...(rs.find((r) => r.code !== 0) ?? rs[0]), ms: Date.now() - t0 }, lines: rs.flatMap((r) => r.lines), t0 };
        },
        [TUNED]: () => peer.deploy("tuned", v),
        [MITOGEN]: () => peer.deploy("mitogen", v),
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
      const stateOf: Record<Way, () => Snapshot> = {
        [CDKTF]: ours,
        [TERRAFORM]: ours,
        [TUNED]: ansible,
        [MITOGEN]: ansible,
        [SCRIPT]: theirs,
      };
      for (const via of ways) {
        // Untimed set-up: each way runs on an otherwise idle host.
        if (via === TERRAFORM) {
          // The project inits each stack dir once (cdktf deploy has initialised them already).
          for (const role of ROLES) p.terraform(role, ["validate"]);
        } else if (via === TUNED || via === SCRIPT) {
          for (const role of ROLES) runAsUser(role, [...controlCommand(instanceDir(role)), "shutdown", "--timeout", "60"].join(" "));
        }
        if (via === MITOGEN || via === SCRIPT) peer.remove();
        if (via === SCRIPT) {
          writeBaselineSources(src, info, v);
          await startBaseline(info, src);
        }
        // Cold: the ways that start from nothing (terraform apply follows cdktf deploy; JAWS started
        // supervisord by hand). The peers' no-op: full runs only (--quick stays under 5 minutes).
        const cold = via !== TERRAFORM && via !== SCRIPT;
        const noop = via === CDKTF || via === TERRAFORM || !o.quick;
        scenarios: for (const scenario of SCENARIOS.filter((x) => (x !== "cold" || cold) && (x !== "no-op" || noop))) {
          // The no-op `terraform apply` once, like the cold deploy.
          for (let i = 0; i < (scenario === "cold" || (scenario === "no-op" && via === TERRAFORM) ? 1 : o.repeats); i++) {
            if (scenario === "one service changed") {
              v = programs(figures.length + 1);
              writeBaselineSources(src, info, v);
            }
            const f = await measure(info, delayMs, scenario, via, stateOf[via], deploys[via]);
            figures.push(f);
            if (!f.ok && scenario === "cold") {
              // Ours must deploy; a peer that cannot is reported (FAILED in its row) and the bench goes on.
              if (via === CDKTF) throw new Error(`cold deploy by ${via} failed: see above`);
              notes.push(`deploy: ${via} failed its cold deploy at ${delayMs} ms; its other runs at that delay were left out`);
              break scenarios;
            }
          }
        }
      }
    }
    const versions = ways.includes(TUNED) ? ansibleVersions() : undefined;
    return {
      rows: deployRows(figures, links),
      details: { versions, links, figures },
      tables: [peerTable(figures, links, versions), breakdownTable(figures, links)],
      notes,
    };
  });
}

const group = (figures: readonly Figure[], delayMs: number, via: Way, scenario: Scenario) =>
  figures.filter((f) => f.delayMs === delayMs && f.via === via && f.scenario === scenario);

/** Goals of issue 17 at each delay: ours against the peers and against the limit line. */
function deployRows(figures: readonly Figure[], links: readonly LinkFigures[]): Row[] {
  const rows: Row[] = [];
  const walls = (fs: readonly Figure[]) => fs.map((f) => f.wallMs);
  for (const { delayMs, sshOneCommandMs } of links) {
    const at = `${delayMs} ms`;
    const change = (via: Way) => group(figures, delayMs, via, "one service changed");
    const failed = (via: Way) => (change(via).some((f) => !f.ok) ? " [FAILED]" : "");
    const wan = delayMs >= 20;
    const vs = (ours: Way, peer: Way, max: number | undefined) => {
      if (!change(ours).length || !change(peer).length) return;
      const goal: Goal | undefined = max === undefined ? undefined : [`<= ${max}x`, (o, b) => o / b <= max];
      rows.push(
        row(
          "deploy",
          `${at}: one change, ${ours}${failed(ours)}: wall`,
          "s",
          walls(change(ours)),
          [walls(change(peer)), `${peer}${failed(peer)}`],
          goal,
        ),
      );
    };
    vs(CDKTF, TUNED, wan ? 0.5 : undefined);
    vs(CDKTF, MITOGEN, wan ? 0.8 : undefined);
    vs(CDKTF, SCRIPT, undefined);
    vs(TERRAFORM, MITOGEN, wan ? 0.5 : undefined);
    vs(TERRAFORM, TUNED, undefined);
    // The physical limit: one SSH connection with one command, and the changed program's startsecs.
    const limit = median(sshOneCommandMs) + CHANGED.startsecs * 1000;
    const ofLimit = (via: Way, goal?: Goal) => {
      if (change(via).length)
        rows.push(
          row(
            "deploy",
            `${at}: one change, ${via}${failed(via)}: wall`,
            "s",
            walls(change(via)),
            [limit, "limit: ssh + 1 command + startsecs"],
            goal,
          ),
        );
    };
    ofLimit(TERRAFORM, ["<= 1.5x", (o, b) => o / b <= 1.5]);
    for (const via of [CDKTF, TUNED, MITOGEN, SCRIPT] as const) ofLimit(via);
    for (const via of [CDKTF, TERRAFORM] as const) {
      const noop = group(figures, delayMs, via, "no-op");
      if (noop.length)
        rows.push(
          row("deploy", `${at}: no-op, ${via}: SSH connections (max)`, "n", Math.max(...noop.map((f) => f.sshSessions)), undefined, [
            "0",
            (n) => n === 0,
          ]),
        );
    }
    const ch = change(CDKTF);
    if (ch.length) {
      const n = ch.map((f) => f.restarted.length);
      rows.push(
        row("deploy", `${at}: one change, ${CDKTF}: processes restarted (max)`, "n", Math.max(...n), undefined, [
          "exactly 1",
          () => n.every((x) => x === 1),
        ]),
      );
    }
  }
  return rows;
}

/** The table of every way, scenario and delay: median wall, max connections and channels, what was restarted. */
function peerTable(figures: readonly Figure[], links: readonly LinkFigures[], versions: string | undefined): string {
  const delays = links.map((l) => l.delayMs);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const cell = (fs: readonly Figure[], scenario: Scenario) => {
    if (!fs.length) return "-";
    const conn = Math.max(...fs.map((f) => f.sshSessions));
    const ch = Math.max(...fs.map((f) => f.sshChannels));
    const restarted = [...new Set(fs.flatMap((f) => f.restarted))];
    const what =
      scenario === "cold"
        ? ""
        : restarted.length === 0
          ? ", 0 restarts"
          : restarted.length === 1 && CHANGED.program.test(restarted[0])
            ? ", 1 restart"
            : `, restarted ${restarted.map((r) => r.replace(/^\S+ /, "")).join(" ")}`;
    const failed = fs.filter((f) => !f.ok).length;
    return `${s(median(fs.map((f) => f.wallMs)))}, ${conn} conn, ${ch} ch${what}${failed ? `, ${failed} FAILED` : ""}`;
  };
  const header = ["way", "scenario", ...delays.map((d) => `${d} ms one-way`)];
  const body: string[][] = [];
  for (const via of WAYS) {
    for (const scenario of SCENARIOS) {
      const fs = delays.map((d) => group(figures, d, via, scenario));
      if (fs.every((x) => !x.length)) continue;
      const n = Math.max(...fs.map((x) => x.length));
      body.push([via, `${scenario}${n > 1 ? ` (median of ${n})` : ""}`, ...fs.map((x) => cell(x, scenario))]);
    }
  }
  body.push([
    "limit line",
    "one change",
    ...links.map(
      (l) =>
        `${s(median(l.sshOneCommandMs) + CHANGED.startsecs * 1000)} (ssh ${median(l.sshOneCommandMs).toFixed(0)} ms + startsecs ${CHANGED.startsecs} s)`,
    ),
  ]);
  body.push(["link", "measured RTT", ...links.map((l) => `${median(l.rttMs).toFixed(1)} ms`)]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    `Deploys over the simulated link${versions ? ` (${versions})` : ""}: wall (median), SSH connections and channels (max), programs restarted`,
    "",
    line(header),
    line(header.map(() => "---")),
    ...body.map(line),
  ].join("\n");
}

/** Where a one-change `terraform apply` spends its time, read off the changed stack's progress lines (medians, seconds). */
function breakdownTable(figures: readonly Figure[], links: readonly LinkFigures[]): string {
  const phases = [
    ["synth (tsx) + Terraform start-up and plan", /./, /Provisioning with '/],
    ["SSH login (Connecting → Connected!)", /Connecting to remote host via SSH/, /Connected!/],
    ["upload, chmod, start of the bundle (→ its first line)", /Connected!/, /\(remote-exec\): \[/],
    ["the bundle on the host (→ `deploy ... done`)", /\(remote-exec\): \[/, /\] deploy \S+ done/],
    ["of which the health gate (startsecs)", /health gate: waiting/, /health: \d+ process/],
    ["after the bundle (empty upload, close, state)", /\] deploy \S+ done/, /Creation complete after/],
  ] as const;
  /** Seconds from the first line matching `a` to the first matching `b` after it, in a figure's output ("  1.23 text"). */
  const span = (f: Figure, a: RegExp, b: RegExp) => {
    const lines = f.output.map((l) => ({ t: Number(l.slice(0, 6)), text: l.slice(7) }));
    const i = lines.findIndex((l) => a.test(l.text));
    const j = lines.findIndex((l, k) => k >= i && i >= 0 && b.test(l.text));
    return i < 0 || j < 0 ? Number.NaN : lines[j].t - (a.source === "." ? 0 : lines[i].t);
  };
  const header = ["phase of a one-change `terraform apply`", ...links.map((l) => `${l.delayMs} ms`)];
  const body = phases.map(([name, a, b]) => [
    name,
    ...links.map((l) => {
      const xs = group(figures, l.delayMs, TERRAFORM, "one service changed")
        .map((f) => span(f, a, b))
        .filter((x) => !Number.isNaN(x));
      return xs.length ? `${median(xs).toFixed(2)} s` : "-";
    }),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    "Where a one-change `terraform apply` spends its time (medians)",
    "",
    line(header),
    line(header.map(() => "---")),
    ...body.map(line),
  ].join("\n");
}
