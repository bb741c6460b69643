/**
 * The Slurm launcher against a real one-node Slurm cluster (testkit/slurm.ts: Debian's slurm-wlm and
 * munge on this machine): supervisord in the foreground inside one long-lived job, which the deploy
 * (over real SSH, real Terraform) and the starter keep queued or running. Cold deploy, no-op,
 * one program changed, an instance-level change, the job cancelled by hand with a maintenance
 * reservation ahead, two deploys at once, destroy. One instance (jaws), one deploy per behaviour.
 *
 * The starter runs from the user's real crontab entry: the test runs the line's command itself
 * (cron's timing is proven by defaults.test.ts) instead of waiting up to a minute for cron.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../../testkit/commands";
import { environ, instanceState, restartedBetween, type Snapshot, snapshot } from "../../testkit/processes";
import { Project, REPO } from "../../testkit/project";
import { jobsNamed, type SlurmCluster, showJob, slurmPrerequisites, startSlurm } from "../../testkit/slurm";
import {
  countSshSessions,
  freeStablePort,
  readIfThere,
  resetUserHome,
  runAsUser,
  sshLogOffset,
  type TestHostInfo,
} from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, SITE_NAME, shellLoop, type Variant } from "../../testkit/test-site";
import { inCI, useTestHost } from "../host/use-test-host";
import { timing, waitFor } from "./support/fixture";

const { info, skipReason } = useTestHost();
const slurmMissing = info ? slurmPrerequisites() : [];
if (slurmMissing.length > 0 && inCI()) throw new Error(`Slurm test cluster prerequisites missing: ${slurmMissing.join("; ")}`);
const skip = skipReason ?? (slurmMissing.length > 0 ? `no Slurm: ${slurmMissing.join("; ")}` : undefined);

const JOB = "jaws_testhost_dev";
const ROLE = "jaws";
const DIR = instanceDir(ROLE);
const MAINTENANCE = "jaws_test_maintenance";
const only = { roles: [ROLE] } as const;

describe.skipIf(!info || slurmMissing.length > 0)(`supervisord in a Slurm job (${skip ?? "real Slurm, real host"})`, () => {
  const host = info as TestHostInfo;
  const user = host.users[ROLE].name;
  let cluster: SlurmCluster;
  let port: number;
  const project = new Project(host);
  const others: Project[] = [];

  /** The baseline, its jaws instance launched in a Slurm job with the sites' kind of options. */
  const slurmVariant = (change: (v: Variant) => void = () => {}): Variant => {
    const v = baseline();
    v.jaws.options = {
      launcher: "slurm",
      inetPort: port,
      slurmJobName: JOB,
      slurmQos: "workflow",
      slurmConstraint: "cron",
      slurmTimeLimit: "1-00:00:00",
      slurmMaintenanceBufferMinutes: 120,
      slurmAddressHook: ['echo "address hook: $SLURM_JOB_ID $JAWS_SUPERVISOR_NODE $JAWS_SUPERVISOR_URL" >>"$HOME/address-hook.log"'],
    };
    change(v);
    return v;
  };

  const jobs = () => jobsNamed(JOB, user);
  const oneJob = () => {
    const js = jobs();
    expect(js, JSON.stringify(js)).toHaveLength(1);
    return js[0];
  };
  const crontab = () => {
    const r = run("crontab", ["-l", "-u", user]);
    if (r.code !== 0 && !/no crontab for/.test(r.stderr)) throw new Error(`crontab -l -u ${user}: ${r.output}`);
    return r.stdout;
  };
  const jaws = () => snapshot(instanceState, [ROLE]);
  const allUp = (s: Snapshot) =>
    Object.entries(s.processes).every(([k, p]) => (k.endsWith(":setup") ? p.state === "EXITED" : p.state === "RUNNING"));
  /** Every process of the instance as expected, once supervisord answers (throws while it does not). */
  const upAgain = () =>
    waitFor(
      "supervisord in the new job, every program up",
      () => {
        try {
          const s = jaws();
          return Object.keys(s.processes).length === 3 && allUp(s) && s;
        } catch {
          return undefined;
        }
      },
      30_000,
      250,
    );
  /** The command of the starter's crontab entry (its five schedule fields and marker stripped). */
  const starterCommand = () => {
    const line = crontab()
      .split("\n")
      .find((l) => l.includes(`${DIR}/bin/starter`));
    expect(line, crontab()).toBeDefined();
    return (line as string)
      .split(" ")
      .slice(5)
      .join(" ")
      .replace(/ # jaws-deploy:.*$/, "");
  };
  const cleanup = () => {
    run("scancel", ["-u", user]);
    run("crontab", ["-r", "-u", user]);
    run("scontrol", ["delete", `reservation=${MAINTENANCE}`]);
  };

  beforeAll(async () => {
    cluster = startSlurm();
    timing(`slurm: cluster ${cluster.started ? "started" : "already up"}`, cluster.startMs);
    port = await freeStablePort();
    cleanup();
    resetUserHome(host, ROLE);
  });
  afterAll(() => {
    cleanup();
    resetUserHome(host, ROLE);
    project.remove();
    for (const p of others) p.remove();
  });

  let job: string;
  let before: Snapshot;

  test("cold deploy: one job, supervisord inside it, every program RUNNING; status shows the node", async () => {
    const t0 = Date.now();
    const [r] = await project.deploy(slurmVariant(), only);
    timing("slurm: cold deploy (job submitted and running)", Date.now() - t0);
    expect(r.output).toMatch(
      /slurm: no job named jaws_testhost_dev queued or running: submitted job \d+ \(full time limit; no maintenance/,
    );
    const j = oneJob();
    expect(j).toMatchObject({ state: "RUNNING", node: cluster.node });
    job = j.id;
    const sj = showJob(job);
    expect(sj).toMatchObject({
      JobName: JOB,
      Features: "cron",
      TimeLimit: "1-00:00:00",
      Command: `${DIR}/bin/slurm-job`,
      UserId: `${user}(${host.users[ROLE].uid})`,
    });
    before = jaws();
    expect(allUp(before), JSON.stringify(before)).toBe(true);
    expect(Object.keys(before.processes).sort()).toEqual([`${ROLE} ${GROUP}:greeter`, `${ROLE} ${GROUP}:setup`, `${ROLE} ${GROUP}:ticker`]);
    // supervisord is a process of the job: Slurm's step daemon above it, the job's id in its environment.
    const pid = before.supervisord[ROLE] as number;
    expect(environ(pid).SLURM_JOB_ID).toBe(job);
    expect(ancestorNames(pid)).toContain("slurmstepd");
    // Where it runs, published on the (shared) instance directory; the address hook ran once.
    const where = JSON.parse(fs.readFileSync(path.join(DIR, "run/slurm-job.json"), "utf8"));
    expect(where).toMatchObject({ job, node: cluster.node, url: `http://127.0.0.1:${port}` });
    expect(readIfThere(`/home/${user}/address-hook.log`)).toBe(`address hook: ${job} ${cluster.node} http://127.0.0.1:${port}\n`);
    // The operators' status command, over SSH like a deploy (the jtm instance is not deployed here: exit 1).
    const status = run("npm", ["run", "--silent", "status", "--", SITE_NAME, "dev"], { cwd: REPO, env: project.env(), timeoutMs: 120_000 });
    const jawsPart = status.stdout.split("== ").find((s) => s.startsWith("jaws-dev")) ?? "";
    expect(jawsPart, status.output).toContain(`Slurm job ${job} on node ${cluster.node}, control endpoint http://127.0.0.1:${port}`);
    expect(jawsPart).toMatch(new RegExp(`${GROUP}:ticker +RUNNING +${before.processes[`${ROLE} ${GROUP}:ticker`].pid} `));
    // The starter is in the user's crontab, once.
    expect(
      crontab()
        .split("\n")
        .filter((l) => l.includes(`${DIR}/bin/starter`)),
    ).toHaveLength(1);
  });

  test("no-op deploy: no SSH session, the same job, the same PIDs", async () => {
    const offset = sshLogOffset(host);
    await project.deploy(slurmVariant(), only);
    expect(countSshSessions(host, offset).sessions).toBe(0);
    expect(oneJob().id).toBe(job);
    expect(restartedBetween(before, jaws())).toEqual({ restarted: [], added: [], removed: [], supervisordRestarted: [] });
  });

  test("one program changed: exactly its PID changes, in the same job", async () => {
    const [r] = await project.deploy(
      slurmVariant((v) => (v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-slurm-tick") })),
      only,
    );
    expect(r.output).toMatch(/plan: supervisord settings same; changed: ticker; added: none; removed: none/);
    const after = jaws();
    expect(restartedBetween(before, after)).toEqual({
      restarted: [`${ROLE} ${GROUP}:ticker`],
      added: [],
      removed: [],
      supervisordRestarted: [],
    });
    expect(oneJob().id).toBe(job);
    before = after;
  });

  test("an instance-level change restarts supervisord inside the same job (no resubmission)", async () => {
    const v = slurmVariant((v) => {
      v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-slurm-tick") };
      v.jaws.options = { ...v.jaws.options, loglevel: "debug" };
    });
    const [r] = await project.deploy(v, only);
    expect(r.output).toMatch(/restarting supervisord inside its Slurm job/);
    expect(r.output).toMatch(/slurm: job \d+ RUNNING on \S+ \(jaws_testhost_dev\): nothing to submit/);
    const after = jaws();
    expect(after.supervisord[ROLE]).not.toBe(before.supervisord[ROLE]);
    expect(allUp(after)).toBe(true);
    expect(oneJob().id).toBe(job);
    expect(environ(after.supervisord[ROLE] as number).SLURM_JOB_ID).toBe(job);
    before = after;
  });

  test("the job cancelled by hand: the starter resubmits it (--time-min before a maintenance reservation), programs come back", async () => {
    // A maintenance window three hours ahead: the starter's job must end 120 minutes (the buffer) before it.
    const res = run("scontrol", [
      "create",
      "reservation",
      `reservationname=${MAINTENANCE}`,
      "starttime=now+180minutes",
      "duration=60",
      "nodes=ALL",
      "flags=maint,ignore_jobs",
      "users=root",
    ]);
    expect(res.code, res.output).toBe(0);
    run("scancel", [job]);
    await waitFor(
      "the cancelled job gone",
      () => jobsNamed(JOB, user).length === 0 && run("squeue", ["-h", "-j", job]).stdout.trim() === "",
      60_000,
      250,
    );
    expect(() => jaws()).toThrow();
    // What cron runs: the entry's command, as the user.
    const cmd = starterCommand();
    const t0 = Date.now();
    const r = runAsUser(ROLE, cmd);
    expect(r.code, r.output).toBe(0);
    const log = fs.readFileSync(path.join(DIR, "log/starter.log"), "utf8");
    expect(log).toMatch(
      new RegExp(
        `starter: slurm: no job named ${JOB} queued or running: submitted job \\d+ \\(--time-min=(59|60); maintenance ${MAINTENANCE} at `,
      ),
    );
    const j = oneJob();
    expect(j.id).not.toBe(job);
    const sj = showJob(j.id);
    expect(sj.TimeMin, JSON.stringify(sj)).toMatch(/^(00:59:00|01:00:00)$/);
    const back = await upAgain();
    timing("slurm: job cancelled -> starter -> programs back", Date.now() - t0);
    expect(environ(back.supervisord[ROLE] as number).SLURM_JOB_ID).toBe(j.id);
    // Idempotent: run again, it only logs that the job is there.
    expect(runAsUser(ROLE, cmd).code).toBe(0);
    expect(fs.readFileSync(path.join(DIR, "log/starter.log"), "utf8").trimEnd().split("\n").pop()).toMatch(
      new RegExp(`starter: slurm: job ${j.id} RUNNING on ${cluster.node} \\(${JOB}\\): nothing to submit$`),
    );
    expect(oneJob().id).toBe(j.id);
    job = j.id;
    before = back;
    run("scontrol", ["delete", `reservation=${MAINTENANCE}`]);
  });

  test("the next deploy sees no difference: no SSH session", async () => {
    const offset = sshLogOffset(host);
    const v = slurmVariant((v) => {
      v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-slurm-tick") };
      v.jaws.options = { ...v.jaws.options, loglevel: "debug" };
    });
    await project.deploy(v, only);
    expect(countSshSessions(host, offset).sessions).toBe(0);
    expect(restartedBetween(before, jaws()).restarted).toEqual([]);
  });

  test("the ensure script (the stack's ensure output) with no job: submits one and waits for its programs", async () => {
    run("scancel", [job]);
    await waitFor("the cancelled job gone", () => run("squeue", ["-h", "-u", user]).stdout.trim() === "", 60_000, 250);
    const r = runAsUser(ROLE, `${DIR}/bin/ensure`);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/slurm: no job named jaws_testhost_dev queued or running: submitted job \d+/);
    expect(r.output).toMatch(/supervisord was not running: started/);
    expect(r.output).toMatch(/health: 3 process\(es\) up/);
    const j = oneJob();
    expect(j.id).not.toBe(job);
    expect(allUp(jaws())).toBe(true);
    job = j.id;
  });

  test("two deploys at once, with no job queued: exactly one job", async () => {
    run("scancel", [job]);
    await waitFor("the cancelled job gone", () => run("squeue", ["-h", "-u", user]).stdout.trim() === "", 60_000, 250);
    const racer = (token: string) => {
      const p = new Project(host);
      others.push(p);
      p.synth(slurmVariant((v) => (v.jaws.options = { ...v.jaws.options, redeployToken: token })));
      return p.startTerraform(ROLE, ["apply", "-auto-approve", "-input=false"]);
    };
    const [r1, r2] = await Promise.all([racer("race-1").done, racer("race-2").done]);
    expect(r1.code, r1.output).toBe(0);
    expect(r2.code, r2.output).toBe(0);
    const submitted = [r1, r2].filter((r) => /submitted job \d+/.test(r.output));
    expect(submitted).toHaveLength(1);
    job = oneJob().id;
  });

  test("a job that stays queued: the deploy installs the files, says so and passes; the job starts with them", async () => {
    // A maintenance under way on the one node: a new job cannot start.
    run("scancel", [job]);
    await waitFor("the cancelled job gone", () => run("squeue", ["-h", "-u", user]).stdout.trim() === "", 60_000, 250);
    const res = run("scontrol", [
      "create",
      "reservation",
      `reservationname=${MAINTENANCE}`,
      "starttime=now",
      "duration=60",
      "nodes=ALL",
      "flags=maint,ignore_jobs",
      "users=root",
    ]);
    expect(res.code, res.output).toBe(0);
    try {
      const v = slurmVariant((v) => {
        v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-queued-tick") };
        v.jaws.options = { ...v.jaws.options, healthTimeoutSeconds: 3 };
      });
      const [r] = await project.deploy(v, only);
      expect(r.output).toMatch(
        /slurm: no job named jaws_testhost_dev queued or running: submitted job \d+ \(--time-min=1; maintenance jaws_test_maintenance/,
      );
      expect(r.output).toMatch(/WARNING: the job is queued, not running yet: supervisord starts with this deploy's files when it runs/);
      expect(r.output).toMatch(/health gate: nothing runs yet \(the job is queued\)/);
      expect(oneJob().state).toBe("PENDING");
      expect(fs.readFileSync(path.join(DIR, "bin/ticker.sh"), "utf8")).toContain("jaws-queued-tick");
    } finally {
      run("scontrol", ["delete", `reservation=${MAINTENANCE}`]);
    }
    // The maintenance is over: the job starts, with the files of that deploy.
    const back = await upAgain();
    const j = oneJob();
    expect(j.state).toBe("RUNNING");
    expect(environ(back.supervisord[ROLE] as number).SLURM_JOB_ID).toBe(j.id);
    expect(run("ps", ["-o", "args=", "-p", String(back.processes[`${ROLE} ${GROUP}:ticker`].pid)]).stdout).toContain("jaws-queued-tick");
    job = j.id;
  });

  test("scrontab as the starter (Debian's Slurm has none: a stand-in that checks each #SCRON option with the real sbatch --test-only)", async () => {
    // The stand-in keeps the table in a file, as `scrontab FILE`, `-l` and `-r` do; another entry of the user is in it.
    const home = host.users[ROLE].home;
    const table = `${home}/.scrontab-table`;
    fs.mkdirSync(`${home}/fake-bin`, { recursive: true });
    fs.writeFileSync(`${home}/fake-bin/scrontab`, FAKE_SCRONTAB, { mode: 0o755 });
    fs.writeFileSync(table, "#SCRON --time=00:05:00\n0 * * * * /bin/true other-entry\n");
    run("chown", ["-R", `${user}:`, `${home}/fake-bin`, table]);
    const scron = (v: Variant) => {
      v.jaws.options = {
        ...v.jaws.options,
        slurmStarter: "scrontab",
        slurmStarterOptions: ["--qos=cron", "--time=00:10:00"],
        shellPreamble: ['PATH="$HOME/fake-bin:$PATH"'],
      };
    };
    const [r] = await project.deploy(slurmVariant(scron), only);
    expect(r.output).toMatch(/scrontab: starter scheduled \(\*\/5 \* \* \* \*\)/);
    expect(r.output).toMatch(/crontab: starter entry removed/);
    expect(r.output).toMatch(/plan: supervisord settings changed|plan: supervisord settings same; changed: ticker/);
    expect(crontab()).not.toContain("bin/starter");
    const text = fs.readFileSync(table, "utf8");
    expect(text).toBe(
      `#SCRON --time=00:05:00\n0 * * * * /bin/true other-entry\n${fs.readFileSync(path.join(DIR, "lib/starter.scrontab"), "utf8")}`,
    );
    expect(text).toContain(
      `#SCRON --job-name=${JOB}-starter\n#SCRON --qos=cron\n#SCRON --time=00:10:00\n*/5 * * * * ${DIR}/bin/starter >>`,
    );
    expect(fs.readFileSync(path.join(home, ".scrontab-checked"), "utf8")).toMatch(
      /--job-name=jaws_testhost_dev-starter --qos=cron --time=00:10:00/,
    );
    // What scrontab would run in its job: the entry's command, as the user.
    const entry = text.split("\n").find((l) => l.includes("bin/starter")) as string;
    expect(runAsUser(ROLE, entry.split(" ").slice(5).join(" ")).code).toBe(0);
    expect(fs.readFileSync(path.join(DIR, "log/starter.log"), "utf8").trimEnd().split("\n").pop()).toMatch(/nothing to submit$/);
    // A second deploy leaves the table as it is.
    const again = await project.deploy(
      slurmVariant((v) => {
        scron(v);
        v.jaws.options = { ...v.jaws.options, redeployToken: "again" };
      }),
      only,
    );
    expect(again[0].output).not.toMatch(/scrontab: starter scheduled/);
    expect(fs.readFileSync(table, "utf8")).toBe(text);
  });

  test("destroy: no job, no starter entry", () => {
    const home = host.users[ROLE].home;
    const r = project.destroy(ROLE);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/scrontab: starter entry removed/);
    expect(fs.readFileSync(`${home}/.scrontab-table`, "utf8")).toBe("#SCRON --time=00:05:00\n0 * * * * /bin/true other-entry\n");
    expect(r.output).toMatch(/slurm: cancelled job \d+|destroy: stopping every program and shutting supervisord down in its Slurm job/);
    expect(run("squeue", ["-h", "-u", user]).stdout.trim()).toBe("");
    expect(crontab()).not.toContain("bin/starter");
    expect(fs.existsSync(path.join(DIR, "run/slurm-job.json"))).toBe(false);
  });
});

/**
 * scrontab(1) as Slurm's has it (FILE installs, -l lists, -r removes), keeping the table in
 * ~/.scrontab-table; at install, like the real one, it refuses a table whose #SCRON options sbatch
 * rejects (checked with the real sbatch --test-only) or whose entries lack five schedule fields.
 */
const FAKE_SCRONTAB = `#!/bin/bash
set -euo pipefail
table="$HOME/.scrontab-table"
case "\${1:-}" in
  -l) [ -f "$table" ] || { echo "no crontab for $(id -un)" >&2; exit 1; }; cat "$table" ;;
  -r) rm -f "$table" ;;
  -*|"") echo "usage: scrontab [-l|-r|FILE]" >&2; exit 2 ;;
  *)
    opts=()
    while IFS= read -r line; do
      case "$line" in
        "#SCRON "*) read -r -a o <<<"\${line#"#SCRON "}"; opts+=("\${o[@]}") ;;
        "#"*|"") ;;
        *)
          read -r -a f <<<"$line"
          [ "\${#f[@]}" -ge 6 ] || { echo "scrontab: bad entry: $line" >&2; exit 1; }
          sbatch --test-only "\${opts[@]}" --wrap true >/dev/null 2>"$HOME/.scrontab-sbatch.err" || { cat "$HOME/.scrontab-sbatch.err" >&2; exit 1; }
          printf '%s\n' "\${opts[*]}" >>"$HOME/.scrontab-checked"
          opts=() ;;
      esac
    done <"$1"
    cp "$1" "$table" ;;
esac
`;

/** The command names of a process's ancestors, up to init. */
function ancestorNames(pid: number): string[] {
  const names: string[] = [];
  for (let p = pid; p > 1; ) {
    const stat = readIfThere(`/proc/${p}/stat`);
    if (!stat) break;
    names.push(stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  }
  return names;
}
