/**
 * A real single-node Slurm cluster on the test machine (Debian's slurm-wlm 22.05 and munge): this
 * host is the only node, with the Feature `cron` (so the sites' `-C cron` really matches) in one
 * default partition. Started once, idempotent (a second call finds it up and returns), as root.
 * `.ci/run` starts it (`tsx testkit/slurm.ts`); the Slurm e2e file calls `startSlurm()` again.
 *
 * No slurmdbd, so no accounting: QOS names cannot be enforced (`--qos workflow` is accepted by
 * sbatch and recorded as no QOS) and every local user may sbatch, squeue, scancel and srun.
 * Debian's build has no `scrontab` command.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { run, runOk } from "./commands";
import { findExecutable, pidRunning, readIfThere } from "./test-host";

export const SLURM_CONF = "/etc/slurm/slurm.conf";
/** The first line of a slurm.conf this module wrote: any other slurm.conf is never overwritten. */
const MARK = "# jaws-deploy test cluster (testkit/slurm.ts): one node, no accounting";
export const PARTITION = "jawstest";
/** The node's Feature: `sbatch -C cron` (NERSC's workflow nodes) matches it. */
export const NODE_FEATURE = "cron";
const MUNGE_KEY = "/etc/munge/munge.key";
const PIDFILES = { slurmctld: "/run/slurmctld.pid", slurmd: "/run/slurmd.pid" } as const;

export interface SlurmCluster {
  /** The one node: this host's short name. */
  readonly node: string;
  readonly partition: string;
  readonly feature: string;
  /** Milliseconds this call took (0-ish when the cluster was already up). */
  readonly startMs: number;
  /** Whether this call started daemons (false: found running). */
  readonly started: boolean;
}

/** What this machine lacks to run the cluster; empty when it can. */
export function slurmPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("must run as root (starts munged, slurmctld, slurmd)");
  for (const [pkg, tools] of [
    ["slurm-wlm", ["slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "srun", "sinfo"]],
    ["munge", ["munged", "munge"]],
  ] as const) {
    for (const t of tools) if (!findExecutable(t)) missing.push(`${t} missing (apt-get install --no-install-recommends ${pkg})`);
  }
  return missing;
}

const node = () => os.hostname().split(".")[0];

function confText(): string {
  // 1 GB left to the machine; the node is shared by every job of the tests.
  const memMb = Math.max(1024, Math.floor(os.totalmem() / 1024 / 1024) - 1024);
  return `${[
    MARK,
    "ClusterName=jawstest",
    `SlurmctldHost=${node()}`,
    "AuthType=auth/munge",
    "SlurmUser=slurm",
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_Core",
    // backfill honours --time-min (a job whose limit reaches into a maintenance reservation starts
    // with its limit cut to fit, no shorter than its time-min); every second, not every 30.
    "SchedulerType=sched/backfill",
    "SchedulerParameters=bf_interval=1",
    "ReturnToService=2",
    // A cancelled job's processes get SIGTERM, then SIGKILL after this many seconds.
    "KillWait=15",
    "StateSaveLocation=/var/spool/slurmctld",
    "SlurmdSpoolDir=/var/spool/slurmd",
    `SlurmctldPidFile=${PIDFILES.slurmctld}`,
    `SlurmdPidFile=${PIDFILES.slurmd}`,
    "SlurmctldLogFile=/var/log/slurm/slurmctld.log",
    "SlurmdLogFile=/var/log/slurm/slurmd.log",
    "MpiDefault=none",
    "JobAcctGatherType=jobacct_gather/none",
    "AccountingStorageType=accounting_storage/none",
    `NodeName=${node()} CPUs=${os.cpus().length} RealMemory=${memMb} Feature=${NODE_FEATURE} State=UNKNOWN`,
    // OverSubscribe: the tests' long-lived jobs never starve each other on the one node.
    `PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8`,
  ].join("\n")}\n`;
}

const daemonUp = (name: keyof typeof PIDFILES) => {
  const pid = Number.parseInt(readIfThere(PIDFILES[name]) ?? "", 10);
  return pid > 1 && pidRunning(pid) && (readIfThere(`/proc/${pid}/comm`) ?? "").trim() === name;
};

/** SIGTERM to a daemon of ours (its pidfile), and wait until it is gone. */
function stopDaemon(name: keyof typeof PIDFILES): void {
  if (!daemonUp(name)) return;
  const pid = Number.parseInt(readIfThere(PIDFILES[name]) ?? "", 10);
  process.kill(pid, "SIGTERM");
  waitFor(
    `${name} (pid ${pid}) does not stop`,
    () => !pidRunning(pid),
    20_000,
    () => "",
  );
}

const mungeWorks = () => run("bash", ["-c", "munge -n | unmunge >/dev/null"]).code === 0;

const nodeState = () => run("sinfo", ["-h", "-N", "-n", node(), "-o", "%T"], { timeoutMs: 10_000 }).stdout.trim();

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms: number) => Atomics.wait(sleepCell, 0, 0, ms);

function waitFor(what: string, ok: () => boolean, timeoutMs: number, detail: () => string): void {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`slurm test cluster: ${what} after ${timeoutMs / 1000}s\n${detail()}`);
    sleepSync(200);
  }
}

const tail = (file: string) => (readIfThere(file) ?? `(no ${file})`).split("\n").slice(-20).join("\n");

/**
 * Starts munged, slurmctld and slurmd when they are not running (as root) and waits until the node
 * takes jobs. Idempotent. Throws with the reason (and the daemons' log tails) when it cannot.
 */
export function startSlurm(): SlurmCluster {
  const t0 = Date.now();
  const missing = slurmPrerequisites();
  if (missing.length > 0) throw new Error(`slurm test cluster: missing prerequisites:\n- ${missing.join("\n- ")}`);
  // slurmd registers under this name, and the job script publishes the address it resolves to.
  if (run("getent", ["hosts", node()]).code !== 0) {
    throw new Error(`slurm test cluster: this host's name ${node()} does not resolve (getent hosts): add it to /etc/hosts`);
  }
  let started = false;

  if (!mungeWorks()) {
    if (!fs.existsSync(MUNGE_KEY)) {
      fs.mkdirSync("/etc/munge", { recursive: true });
      fs.writeFileSync(MUNGE_KEY, fs.readFileSync("/dev/urandom").subarray(0, 1024), { mode: 0o400 });
    }
    for (const d of ["/run/munge", "/var/log/munge", "/var/lib/munge"]) fs.mkdirSync(d, { recursive: true });
    runOk("chown", ["munge:munge", MUNGE_KEY, "/run/munge", "/var/log/munge", "/var/lib/munge", "/etc/munge"]);
    fs.chmodSync(MUNGE_KEY, 0o400);
    runOk("runuser", ["-u", "munge", "--", findExecutable("munged") as string]);
    started = true;
    waitFor("munge does not work", mungeWorks, 10_000, () => tail("/var/log/munge/munged.log"));
  }

  const existing = readIfThere(SLURM_CONF);
  if (existing !== undefined && !existing.startsWith(MARK)) {
    throw new Error(`slurm test cluster: ${SLURM_CONF} exists and was not written by testkit/slurm.ts: not overwritten`);
  }
  const conf = confText();
  const confChanged = existing !== conf;
  if (confChanged) {
    fs.mkdirSync("/etc/slurm", { recursive: true });
    fs.writeFileSync(SLURM_CONF, conf, { mode: 0o644 });
  }
  for (const d of ["/var/spool/slurmctld", "/var/log/slurm"]) {
    fs.mkdirSync(d, { recursive: true });
    runOk("chown", ["slurm:slurm", d]);
  }
  fs.mkdirSync("/var/spool/slurmd", { recursive: true });

  // Some settings (SchedulerType) need a restart: a changed config restarts both daemons.
  if (confChanged) for (const d of ["slurmd", "slurmctld"] as const) stopDaemon(d);
  if (!daemonUp("slurmctld")) {
    runOk(findExecutable("slurmctld") as string, []);
    started = true;
  }
  waitFor(
    "slurmctld does not answer",
    () => run("scontrol", ["ping"], { timeoutMs: 5_000 }).stdout.includes("UP"),
    20_000,
    () => tail("/var/log/slurm/slurmctld.log"),
  );
  if (!daemonUp("slurmd")) {
    runOk(findExecutable("slurmd") as string, []);
    started = true;
  }
  const ready = () => /^(idle|mixed|allocated)/.test(nodeState());
  waitFor(
    `node ${node()} is not ready (state ${JSON.stringify(nodeState())})`,
    () => {
      // A node left down or drained by an earlier run (killed daemons) is put back.
      if (/^(down|drain)/.test(nodeState())) run("scontrol", ["update", `nodename=${node()}`, "state=resume"]);
      return ready();
    },
    30_000,
    () => `${tail("/var/log/slurm/slurmctld.log")}\n${tail("/var/log/slurm/slurmd.log")}`,
  );
  return { node: node(), partition: PARTITION, feature: NODE_FEATURE, startMs: Date.now() - t0, started };
}

/** Jobs of `user` named `name` that squeue lists: id, state, node. Throws when squeue fails. */
export function jobsNamed(name: string, user: string): { id: string; state: string; node: string }[] {
  const r = runOk("squeue", ["-h", "-u", user, "-n", name, "-o", "%i|%T|%N"]);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [id, state, nodeName] = l.split("|");
      return { id, state, node: nodeName };
    });
}

/** `scontrol show job ID` as key=value pairs (one line, -o). */
export function showJob(id: string): Record<string, string> {
  const r = runOk("scontrol", ["-o", "show", "job", id]);
  return Object.fromEntries([...r.stdout.matchAll(/(\S+?)=(\S*)/g)].map(([, k, v]) => [k, v]));
}

if (require.main === module) {
  const c = startSlurm();
  console.log(
    `slurm test cluster: node ${c.node} (Feature ${c.feature}) in partition ${c.partition} ${c.started ? "started" : "already up"} in ${(c.startMs / 1000).toFixed(1)} s`,
  );
}
