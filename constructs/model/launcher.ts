import type { SupervisorInstanceProps } from "../supervisor-instance";

/** How supervisord is started: as a daemon on the host, or in the foreground inside a Slurm job. */
export type LauncherKind = "daemon" | "slurm";

/** What periodically makes sure the Slurm job is queued or running. */
export type SlurmStarterKind = "scrontab" | "crontab";

/**
 * supervisord's config names the node's address with this expansion: the job script exports
 * JAWS_SUPERVISOR_ADDRESS (the address the node's name resolves to) before it starts supervisord,
 * which expands it at parse time; jawsctl puts the address the job published in its place.
 */
export const NODE_ADDRESS_VARIABLE = "JAWS_SUPERVISOR_ADDRESS";
export const NODE_ADDRESS_EXPANSION = `%(ENV_${NODE_ADDRESS_VARIABLE})s`;

/** The Slurm launcher with every default applied. */
export interface SlurmLauncherModel {
  readonly kind: "slurm";
  readonly jobName: string;
  readonly qos?: string;
  readonly constraint?: string;
  readonly account?: string;
  readonly partition?: string;
  readonly timeLimit: string;
  readonly maintenanceBufferMinutes: number;
  readonly cpusPerTask?: number;
  readonly starter: SlurmStarterKind;
  readonly starterSchedule: string;
  readonly starterOptions: readonly string[];
  readonly addressHook: readonly string[];
}

export type LauncherModel = { readonly kind: "daemon" } | SlurmLauncherModel;

/** The Slurm launcher's props (names as the user writes them). */
const SLURM_PROPS = [
  "slurmJobName",
  "slurmQos",
  "slurmConstraint",
  "slurmAccount",
  "slurmPartition",
  "slurmTimeLimit",
  "slurmMaintenanceBufferMinutes",
  "slurmCpusPerTask",
  "slurmStarter",
  "slurmStarterSchedule",
  "slurmStarterOptions",
  "slurmAddressHook",
] as const satisfies readonly (keyof SupervisorInstanceProps)[];

/**
 * Props set that the chosen launcher does not use (they would be ignored silently): the Slurm
 * props of a daemon instance; the host-bound endpoint and ensure entry of a Slurm one.
 */
export function misplacedLauncherProps(o: SupervisorInstanceProps): string[] {
  const set = (k: keyof SupervisorInstanceProps) => o[k] !== undefined;
  if ((o.launcher ?? "daemon") !== "slurm") return SLURM_PROPS.filter(set);
  return (["inetHost", "socketFile"] as const).filter(set);
}

/** Slurm's longest job by default: the reference's `--time=90-00:00:00`. */
export const DEFAULT_SLURM_TIME_LIMIT = "90-00:00:00";

export function resolveLauncher(o: SupervisorInstanceProps): LauncherModel {
  if ((o.launcher ?? "daemon") !== "slurm") return { kind: o.launcher ?? "daemon" } as LauncherModel;
  return {
    kind: "slurm",
    jobName: o.slurmJobName ?? o.identifier ?? `supervisor-${o.name}-${o.deployment}`,
    qos: o.slurmQos,
    constraint: o.slurmConstraint,
    account: o.slurmAccount,
    partition: o.slurmPartition,
    timeLimit: o.slurmTimeLimit ?? DEFAULT_SLURM_TIME_LIMIT,
    maintenanceBufferMinutes: o.slurmMaintenanceBufferMinutes ?? 120,
    cpusPerTask: o.slurmCpusPerTask,
    starter: o.slurmStarter ?? "crontab",
    starterSchedule: o.slurmStarterSchedule ?? "*/5 * * * *",
    starterOptions: o.slurmStarterOptions ?? [],
    addressHook: o.slurmAddressHook ?? [],
  };
}

/**
 * sbatch's options for the instance's job, apart from those the submitting side adds
 * (job name, singleton dependency, output, time-min): the site's QOS, constraint, account,
 * partition, time limit and CPUs.
 */
export function sbatchOptions(l: SlurmLauncherModel): string[] {
  const opts: string[] = [];
  if (l.qos !== undefined) opts.push(`--qos=${l.qos}`);
  if (l.constraint !== undefined) opts.push(`--constraint=${l.constraint}`);
  if (l.account !== undefined) opts.push(`--account=${l.account}`);
  if (l.partition !== undefined) opts.push(`--partition=${l.partition}`);
  opts.push(`--time=${l.timeLimit}`);
  if (l.cpusPerTask !== undefined) opts.push(`--cpus-per-task=${l.cpusPerTask}`);
  return opts;
}

/**
 * Slurm's time formats (`minutes`, `minutes:seconds`, `hours:minutes:seconds`, `days-hours`,
 * `days-hours:minutes`, `days-hours:minutes:seconds`, UNLIMITED/INFINITE) in whole minutes
 * (seconds rounded up); undefined when `t` is none of them.
 */
export function slurmMinutes(t: string): number | undefined {
  if (/^(UNLIMITED|INFINITE)$/i.test(t)) return Number.POSITIVE_INFINITY;
  let m = /^(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?$/.exec(t);
  if (m) return Number(m[1]) * 1440 + Number(m[2]) * 60 + Number(m[3] ?? 0) + Math.ceil(Number(m[4] ?? 0) / 60);
  m = /^(\d+)(?::(\d+)(?::(\d+))?)?$/.exec(t);
  if (!m) return undefined;
  if (m[3] !== undefined) return Number(m[1]) * 60 + Number(m[2]) + Math.ceil(Number(m[3]) / 60);
  return Number(m[1]) + Math.ceil(Number(m[2] ?? 0) / 60);
}
