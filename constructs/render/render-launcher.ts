/**
 * What the launcher adds to an instance's scripts and files (pure): the crontab entry (the daemon's
 * ensure script, or the Slurm starter), and for the Slurm launcher the job script, the starter, the
 * starter's scrontab block and the values the shell library passes to sbatch.
 */
import { HOST_FILES } from "../host-layout";
import type { InstanceModel } from "../model/instance";
import { type SlurmLauncherModel, sbatchOptions } from "../model/launcher";

/** Files of the Slurm launcher, relative to the instance directory. */
export const SLURM_FILES = {
  /** The batch script: publishes where it runs, then supervisord in the foreground. */
  job: "bin/slurm-job",
  /** Run by crontab or scrontab: submits the job when none is queued or running. */
  starter: "bin/starter",
  /** The starter's block of the user's scrontab (slurmStarter scrontab). */
  scrontab: "lib/starter.scrontab",
  /** Where the job publishes its job id, node, address and control URL (jawsctl's connection.LOCATION). */
  location: "run/slurm-job.json",
} as const;

/** The crontab entry a deploy keeps (or removes): its command and how the deploy names it. */
function cronContext(m: InstanceModel) {
  if (m.launcher.kind === "slurm") {
    return {
      install: m.launcher.starter === "crontab",
      command: `$DIR/${SLURM_FILES.starter} >>$DIR/log/starter.log 2>&1`,
      what: "starter",
      entry: "starter entry",
    };
  }
  return {
    install: m.ensureCron,
    command: `$DIR/${HOST_FILES.ensure} --quiet >>$DIR/log/ensure.log 2>&1`,
    what: "ensure script",
    entry: "ensure entry",
  };
}

function slurmContext(m: InstanceModel, l: SlurmLauncherModel) {
  return {
    jobName: l.jobName,
    sbatchOptions: sbatchOptions(l),
    timeLimit: l.timeLimit,
    buffer: l.maintenanceBufferMinutes,
    port: m.control.kind === "inet" ? m.control.port : 0,
    starter: l.starter,
    scrontab: l.starter === "scrontab",
    schedule: l.starterSchedule,
    addressHook: l.addressHook,
    location: SLURM_FILES.location,
  };
}

/** The launcher's part of the scripts' render context. */
export function launcherContext(m: InstanceModel) {
  const l = m.launcher;
  return {
    cron: cronContext(m),
    cronSchedule: l.kind === "slurm" ? l.starterSchedule : m.ensureCronSchedule,
    slurm: l.kind === "slurm" ? slurmContext(m, l) : false,
  };
}

/**
 * The starter's block in the user's scrontab: marker lines around its `#SCRON` options (a job name
 * of its own, then slurmStarterOptions) and the crontab line. Values are validated single words.
 */
export function starterScrontab(m: InstanceModel, l: SlurmLauncherModel): string {
  return `${[
    `# jaws-deploy:${m.dir} begin`,
    `# the starter of ${m.name}-${m.deployment}: keeps its Slurm job ${l.jobName} queued or running (written by its deploy)`,
    `#SCRON --job-name=${l.jobName}-starter`,
    ...l.starterOptions.map((o) => `#SCRON ${o}`),
    `${l.starterSchedule} ${m.dir}/${SLURM_FILES.starter} >>${m.dir}/log/starter.log 2>&1`,
    `# jaws-deploy:${m.dir} end`,
  ].join("\n")}\n`;
}
