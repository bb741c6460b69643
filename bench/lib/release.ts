/**
 * Part release: a versioned release of a small real application (testkit/demo-package.ts, two
 * programs reading a config file with a password from a CI variable) deployed to the test host by
 * the project's app (in-process synth + `terraform apply` of the jaws stack), against the same
 * programs run by a plain supervisord and upgraded the JAWS way, a script that pip-installs the
 * version into the venv in place and restarts the group (bench/baseline/pip-restart.sh).
 *
 * - upgrade: from the start of the deploy to both programs answering on the new version;
 * - rollback: a version that crashes at start, from the start of its deploy to both programs
 *   answering on the previous version again (ours: the health gate's automatic rollback; the
 *   script: it runs once more with the previous version, as soon as it failed, i.e. without the
 *   minutes a person takes to notice).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { start } from "../../testkit/commands";
import { askDemo, buildDemoWheels, DEMO_PACKAGE, DEMO_SCRIPT } from "../../testkit/demo-package";
import { restartedBetween, snapshot, supervisorState } from "../../testkit/processes";
import { Project, REPO } from "../../testkit/project";
import { freeStablePort, runAsUser, sshOptions, type TestHostInfo } from "../../testkit/test-host";
import { baseline, instanceDir, type Variant } from "../../testkit/test-site";
import { withTestHost } from "./host";
import type { PartResult } from "./synth";
import { log, type Row, row } from "./table";

const KEY_VARIABLE = "JAWS_SECRETS_FINGERPRINT_KEY";
const SECRET_VARIABLE = "BENCH_DEMO_PASSWORD";
const PASSWORD = "bench-pa%ss;word";

/** Polls both programs until each answers `version` (or throws after `timeoutMs`). */
async function untilVersion(ports: readonly number[], version: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(ports);
  while (pending.size > 0) {
    for (const p of [...pending]) {
      try {
        if ((await askDemo(p, 500)).version === version) pending.delete(p);
      } catch {
        // not listening (yet)
      }
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`ports ${[...pending].join(", ")} never answered version ${version}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Ours: the jaws instance of the test site with the demo release, each program with its config file. */
function ourVariant(version: string, wheels: string, ports: readonly number[]): Variant {
  const v = baseline();
  const dir = instanceDir("jaws");
  const files: NonNullable<Variant["jaws"]["configFiles"]> = {};
  v.jaws.services = {};
  v.jaws.configFiles = files;
  ["web", "worker"].forEach((n, i) => {
    v.jaws.services[n] = {
      command: [DEMO_SCRIPT, "--config", `${dir}/config/${n}.conf`, "--name", n],
      startsecs: 1,
      releaseId: "demo",
      configFileIds: [n],
    };
    files[n] = {
      path: `config/${n}.conf`,
      template: `[demo]\nport = ${ports[i]}\npassword = {{secret.pw}}\n`,
      secrets: { pw: { envVariable: SECRET_VARIABLE } },
    };
  });
  v.jaws.releases = {
    demo: { package: DEMO_PACKAGE, version, pipFindLinks: [wheels], pipNoIndex: true, pythonCommand: "/usr/bin/python3" },
  };
  v.jaws.options = { healthTimeoutSeconds: 10 };
  return v;
}

/** The baseline's plain supervisord (as jawstest_jtm), its venv with `version` installed: untimed set-up. */
async function startBaseline(info: TestHostInfo, wheels: string, ports: readonly number[], version: string): Promise<string> {
  const dir = `${info.users.jtm.home}/jaws-baseline-release`;
  const programs = ["web", "worker"]
    .map(
      (n) => `[program:${n}]
command=${dir}/venv/bin/${DEMO_SCRIPT} --config ${dir}/${n}.conf --name ${n}
startsecs=1
startretries=3
autorestart=unexpected
stopasgroup=true
killasgroup=true
stdout_logfile=${dir}/log/${n}.out.log
stderr_logfile=${dir}/log/${n}.err.log
`,
    )
    .join("\n");
  const conf = `[unix_http_server]
file=${dir}/supervisor.sock
chmod=0700

[supervisord]
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
directory=${dir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${dir}/supervisor.sock

${programs}
[group:demo]
programs=web,worker
`;
  const setup = [
    "set -e",
    "umask 077",
    `mkdir -p ${dir}/log`,
    `cat >${dir}/supervisord.conf <<'EOF'\n${conf}EOF`,
    ...["web", "worker"].map(
      (n, i) => `printf '[demo]\\nport = %s\\npassword = %s\\n' ${ports[i]} '${PASSWORD.replaceAll("%", "%%")}' >${dir}/${n}.conf`,
    ),
    `/usr/bin/python3 -m venv ${dir}/venv`,
    `${dir}/venv/bin/pip install --disable-pip-version-check --quiet --no-index --find-links ${wheels} ${DEMO_PACKAGE}==${version}`,
    `cd ${dir} && setsid /usr/bin/supervisord -c ${dir}/supervisord.conf </dev/null >/dev/null 2>&1`,
  ].join("\n");
  const r = runAsUser("jtm", setup, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`baseline set-up failed: ${r.output}`);
  await untilVersion(ports, version);
  return dir;
}

export async function benchRelease(repeats: number): Promise<PartResult> {
  log("release: versioned release upgrade and automatic rollback vs a pip install + restart script");
  return withTestHost(async ({ info }) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-release-"));
    fs.chmodSync(work, 0o755);
    const wheels = path.join(work, "wheels");
    const saved = { key: process.env[KEY_VARIABLE], secret: process.env[SECRET_VARIABLE] };
    const env = { [KEY_VARIABLE]: `bench-${Date.now()}`, [SECRET_VARIABLE]: PASSWORD };
    Object.assign(process.env, env); // the in-process synth reads them, as a deploy job's would
    const project = new Project(info, { env });
    const samples = { upgrade: [] as number[], rollback: [] as number[], baseUpgrade: [] as number[], baseRollback: [] as number[] };
    let restarted = 0;
    try {
      // New versions every round: each upgrade builds its venv, as a real one does.
      const v = (major: number, round: number) => `${major}.${round}`;
      buildDemoWheels(
        wheels,
        Array.from({ length: repeats }, (_, r) => [{ version: v(1, r) }, { version: v(2, r) }, { version: v(3, r), crash: true }]).flat(),
      );
      const ours = [await freeStablePort(), await freeStablePort()];
      const theirs = [await freeStablePort(), await freeStablePort()];
      const deploy = async (version: string) => {
        try {
          await project.deploy(ourVariant(version, wheels, ours), { roles: ["jaws"] });
          return true;
        } catch {
          return false;
        }
      };
      if (!(await deploy(v(1, 0)))) throw new Error("cold deploy of v1 failed");
      const baseDir = await startBaseline(info, wheels, theirs, v(1, 0));
      const script = (version: string) =>
        start(
          path.join(REPO, "bench", "baseline", "pip-restart.sh"),
          [info.host, String(info.port), info.users.jtm.name, info.users.jtm.privateKeyPath, baseDir, version, wheels],
          { env: { ...process.env, SSH_OPTS: sshOptions(info).join(" ") } },
        ).done;

      for (let i = 0; i < repeats; i++) {
        log(`  round ${i + 1}/${repeats}`);
        if (i > 0) {
          // This round's v1, untimed (both sides).
          if (!(await deploy(v(1, i)))) throw new Error("deploy of v1 failed");
          await script(v(1, i));
          await untilVersion([...ours, ...theirs], v(1, i));
        }
        const before = snapshot(undefined, ["jaws"]);
        let t0 = Date.now();
        if (!(await deploy(v(2, i)))) throw new Error("upgrade to v2 failed");
        await untilVersion(ours, v(2, i));
        samples.upgrade.push(Date.now() - t0);
        restarted = restartedBetween(before, snapshot(undefined, ["jaws"])).restarted.length;

        t0 = Date.now();
        if (await deploy(v(3, i))) throw new Error("v3 (crashing) passed its health gate");
        await untilVersion(ours, v(2, i));
        samples.rollback.push(Date.now() - t0);

        t0 = Date.now();
        await script(v(2, i));
        await untilVersion(theirs, v(2, i));
        samples.baseUpgrade.push(Date.now() - t0);

        t0 = Date.now();
        await script(v(3, i)); // pip installs it, the restart leaves the programs crashing
        await script(v(2, i));
        await untilVersion(theirs, v(2, i));
        samples.baseRollback.push(Date.now() - t0);
      }
      const state = supervisorState("jtm", `${baseDir}/supervisord.conf`);
      log(`  baseline supervisord: ${Object.keys(state.processes).length} programs`);
    } finally {
      project.remove();
      fs.rmSync(work, { recursive: true, force: true });
      for (const [k, v] of [
        [KEY_VARIABLE, saved.key],
        [SECRET_VARIABLE, saved.secret],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const rows: Row[] = [
      row("release", "upgrade v1 -> v2: deploy start to both programs answering on v2", "s", samples.upgrade, [
        samples.baseUpgrade,
        "pip install + restart script",
      ]),
      row("release", "v3 crashes at start: deploy start to v2 answering again (automatic rollback)", "s", samples.rollback, [
        samples.baseRollback,
        "script with v3, then again with v2 (no human delay)",
      ]),
      row("release", "processes restarted by the upgrade (the release's programs only)", "n", restarted, [2, "script: the group (2)"]),
    ];
    return { rows, details: { samples, repeats } };
  });
}
