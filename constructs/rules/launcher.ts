import { slurmMinutes } from "../model/launcher";
import { CONTROL_CHARS, WHITESPACE } from "../render/syntax";
import { Checks, type InstanceRule } from "./checks";
import { describe } from "./problem";

const CRON_SCHEDULE = /^[0-9*/,-]+( [0-9*/,-]+){4}$/;
// Job names end up in squeue's -n, log lines and file names.
const JOB_NAME = /^[A-Za-z0-9_.+-]{1,128}$/;
// One sbatch option per #SCRON line: `--name` or `--name=value`, no whitespace.
const SBATCH_OPTION = /^--?[A-Za-z][A-Za-z0-9-]*(=\S+)?$/;

/**
 * How supervisord is launched. The Slurm launcher: its endpoint is inet on the node's address
 * (inetPort, no inetHost), supervisord runs in the foreground, and every value that reaches
 * sbatch, scrontab or crontab is one word without control characters (and is shell-quoted).
 */
export const launcherRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  const l = m.launcher;
  for (const field of m.misplacedLauncherProps) {
    c.fail(
      field,
      l.kind === "slurm"
        ? "does not apply to launcher slurm: supervisord listens on inetPort at the address of the node its job runs on"
        : 'is a setting of the Slurm launcher: set launcher: "slurm" (or remove it)',
    );
  }
  if (l.kind !== "slurm") {
    c.check(l.kind === "daemon", "launcher", `${describe(String(l.kind))} must be daemon or slurm`);
    return c.problems;
  }
  c.check(
    m.control.kind === "inet",
    "inetPort",
    "is required by launcher slurm: supervisord is controlled over inet_http_server at its node's address (a unix socket cannot be reached from the login node)",
  );
  c.check(m.supervisord.nodaemon, "nodaemon", "must be true with launcher slurm: supervisord is the job's foreground process");
  c.check(
    !m.ensureCron,
    "ensureCron",
    "does not apply to launcher slurm: its starter (slurmStarter) brings the job back; remove ensureCron",
  );
  c.check(JOB_NAME.test(l.jobName), "slurmJobName", `${describe(l.jobName)} must be 1-128 letters, digits or _.+-`);
  const word = (field: string, value: string | undefined) => {
    if (value === undefined) return;
    c.check(
      value !== "" && !CONTROL_CHARS.test(value) && !WHITESPACE.test(value),
      field,
      `${describe(value)} must be one word without whitespace or control characters`,
    );
  };
  word("slurmQos", l.qos);
  word("slurmConstraint", l.constraint);
  word("slurmAccount", l.account);
  word("slurmPartition", l.partition);
  const limit = slurmMinutes(l.timeLimit);
  c.check(
    limit !== undefined && limit > 0,
    "slurmTimeLimit",
    `${describe(l.timeLimit)} is not a Slurm time limit (minutes, hours:minutes:seconds, days-hours:minutes:seconds, UNLIMITED)`,
  );
  c.int("slurmMaintenanceBufferMinutes", l.maintenanceBufferMinutes, 0, 525600);
  if (l.cpusPerTask !== undefined) c.int("slurmCpusPerTask", l.cpusPerTask, 1, 100000);
  c.check(
    l.starter === "scrontab" || l.starter === "crontab",
    "slurmStarter",
    `${describe(String(l.starter))} must be scrontab or crontab`,
  );
  c.check(
    CRON_SCHEDULE.test(l.starterSchedule),
    "slurmStarterSchedule",
    `${describe(l.starterSchedule)} must be five crontab fields of digits and * / , - (e.g. "*/5 * * * *")`,
  );
  l.starterOptions.forEach((o, i) => {
    c.check(SBATCH_OPTION.test(o), `slurmStarterOptions[${i}]`, `${describe(o)} must be one sbatch option, --name or --name=value`);
  });
  if (l.starter !== "scrontab" && l.starterOptions.length > 0) {
    c.fail("slurmStarterOptions", 'apply to slurmStarter: "scrontab" only (options of the starter\'s own scrontab job)');
  }
  // Probes run where jawsctl runs: the login node the deploy reaches, not the node of the job.
  for (const s of m.services.filter((x) => x.probe !== undefined)) {
    c.problems.push({
      path: s.path,
      field: "healthCheck",
      message:
        "is not supported with launcher slurm: probes run on the login node the deploy reaches, while the program runs on the node of its Slurm job",
    });
  }
  l.addressHook.forEach((line, i) => {
    c.check(!CONTROL_CHARS.test(line), `slurmAddressHook[${i}]`, "must be one line without control characters");
  });
  return c.problems;
};
