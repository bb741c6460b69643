import type { Problem } from "../rules/problem";
import type { SupervisorInstanceProps } from "../supervisor-instance";
import type { ConfigFileModel } from "./config-file";
import { normalisePath, tokenProblems } from "./input";
import { type LauncherModel, misplacedLauncherProps, NODE_ADDRESS_EXPANSION, resolveLauncher } from "./launcher";
import type { ReleaseModel } from "./release";
import type { ServiceModel } from "./service";
import type { ByteSize, DeployResourceKind, LogLevel } from "./values";

export type ControlEndpoint =
  | { readonly kind: "unix"; readonly socketFile: string }
  | { readonly kind: "inet"; readonly host: string; readonly port: number };

export interface SupervisordSettings {
  readonly logfile: string;
  readonly logfileMaxbytes: ByteSize;
  readonly logfileBackups: number;
  readonly loglevel: LogLevel;
  readonly pidfile: string;
  readonly minfds: number;
  readonly minprocs: number;
  readonly identifier: string;
  readonly umask: string;
  readonly childlogdir: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly nodaemon: boolean;
  readonly directory: string;
}

/** One SSH endpoint: the host, or the bastion in front of it. */
export interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey?: string;
  readonly privateKeyFile?: string;
  readonly certificateFile?: string;
}

/** How the deploy reaches the host. */
export interface SshSettings extends SshEndpoint {
  readonly insecureSkipHostKeyCheck: boolean;
  readonly bastion?: SshEndpoint;
}

export interface DirectoryModel {
  readonly path: string;
  readonly mode: string;
  readonly group?: string;
  readonly defaultAcl: readonly string[];
}

/** An instance with every default applied: what validation and rendering see. */
export interface InstanceModel {
  /** Construct path (or any label) used in error messages. */
  readonly path: string;
  readonly name: string;
  readonly deployment: string;
  readonly ssh: SshSettings;
  readonly baseDirectory: string;
  /** `<baseDirectory>/<name>-<deployment>`: everything of the instance lives here. */
  readonly dir: string;
  readonly python: {
    readonly command: string;
    readonly preamble: readonly string[];
    readonly supervisorVersion: string;
    readonly indexUrl?: string;
    readonly findLinks: readonly string[];
    readonly noIndex: boolean;
    readonly systemSitePackages: boolean;
  };
  readonly control: ControlEndpoint;
  /** How supervisord is started; `slurm`: in a Slurm job, its inet endpoint on the node's address. */
  readonly launcher: LauncherModel;
  /** Props set that `launcher` does not use (each a problem). */
  readonly misplacedLauncherProps: readonly string[];
  readonly supervisord: SupervisordSettings;
  readonly group: { readonly name: string; readonly priority: number };
  readonly healthTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  readonly ensureCron: boolean;
  readonly ensureCronSchedule: string;
  readonly deployResource: DeployResourceKind;
  readonly redeployToken?: string;
  readonly services: readonly ServiceModel[];
  /** Python releases installed for the programs (PythonRelease). */
  readonly releases: readonly ReleaseModel[];
  /** Config files rendered on the host (ConfigFile). */
  readonly configFiles: readonly ConfigFileModel[];
  /** The CI variable holding the key of the secrets' fingerprints (see secret-fingerprints.ts). */
  readonly secretsFingerprintKeyVariable: string;
  readonly directories: readonly DirectoryModel[];
  readonly setfacl: boolean;
  readonly includeFiles: readonly string[];
  readonly preflight: readonly { readonly host: string; readonly port: number; readonly name: string }[];
  readonly preflightTimeoutSeconds: number;
  /** Problems of the raw props found before any rule (cdktf tokens). */
  readonly inputProblems: readonly Problem[];
}

/** Applies the defaults; does not validate (see rules/). */
export function resolveInstance(
  o: SupervisorInstanceProps,
  path: string,
  services: readonly ServiceModel[] = [],
  app: { readonly releases?: readonly ReleaseModel[]; readonly configFiles?: readonly ConfigFileModel[] } = {},
): InstanceModel {
  const baseDirectory = normalisePath(o.baseDirectory ?? `/home/${o.user}/jaws-supervisor`);
  const dir = normalisePath(`${baseDirectory}/${o.name}-${o.deployment}`);
  const launcher = resolveLauncher(o);
  const slurm = launcher.kind === "slurm";
  const control: ControlEndpoint =
    o.inetPort !== undefined
      ? { kind: "inet", host: slurm ? NODE_ADDRESS_EXPANSION : (o.inetHost ?? "127.0.0.1"), port: o.inetPort }
      : { kind: "unix", socketFile: normalisePath(o.socketFile) ?? `${dir}/run/supervisor.sock` };
  const bastion =
    o.bastionHost === undefined
      ? undefined
      : {
          host: o.bastionHost,
          port: o.bastionPort ?? 22,
          user: o.bastionUser ?? o.user,
          privateKeyFile: o.bastionPrivateKeyFile ?? o.privateKeyFile,
          certificateFile: o.bastionCertificateFile ?? o.certificateFile,
          hostKey: o.bastionHostKey,
        };
  return {
    path,
    name: o.name,
    deployment: o.deployment,
    ssh: {
      host: o.host,
      port: o.port ?? 22,
      user: o.user,
      hostKey: o.hostKey,
      insecureSkipHostKeyCheck: o.insecureSkipHostKeyCheck ?? false,
      privateKeyFile: o.privateKeyFile,
      certificateFile: o.certificateFile,
      bastion,
    },
    baseDirectory,
    dir,
    python: {
      command: o.pythonCommand ?? "python3",
      preamble: o.shellPreamble ?? [],
      supervisorVersion: o.supervisorVersion ?? "4.2.5",
      indexUrl: o.pipIndexUrl,
      findLinks: (o.pipFindLinks ?? []).map((l) => normalisePath(l)),
      noIndex: o.pipNoIndex ?? false,
      systemSitePackages: o.venvSystemSitePackages ?? false,
    },
    control,
    launcher,
    misplacedLauncherProps: misplacedLauncherProps(o),
    supervisord: {
      logfile: normalisePath(o.logfile) ?? `${dir}/log/supervisord.log`,
      logfileMaxbytes: o.logfileMaxbytes ?? "50MB",
      logfileBackups: o.logfileBackups ?? 2,
      loglevel: o.loglevel ?? "info",
      pidfile: normalisePath(o.pidfile) ?? `${dir}/run/supervisord.pid`,
      minfds: o.minfds ?? 1024,
      minprocs: o.minprocs ?? 200,
      identifier: o.identifier ?? `supervisor-${o.name}-${o.deployment}`,
      umask: o.umask ?? "022",
      childlogdir: normalisePath(o.childlogdir) ?? `${dir}/log`,
      environment: o.environment ?? {},
      // Inside a Slurm job supervisord is the job's foreground process.
      nodaemon: o.nodaemon ?? slurm,
      directory: normalisePath(o.directory) ?? dir,
    },
    group: { name: o.groupName ?? `jaws-${o.deployment}`, priority: o.groupPriority ?? 999 },
    healthTimeoutSeconds: o.healthTimeoutSeconds ?? 60,
    lockTimeoutSeconds: o.lockTimeoutSeconds ?? 300,
    ensureCron: o.ensureCron ?? false,
    ensureCronSchedule: o.ensureCronSchedule ?? "*/5 * * * *",
    deployResource: o.deployResource ?? "null_resource",
    redeployToken: o.redeployToken,
    services,
    releases: app.releases ?? [],
    configFiles: app.configFiles ?? [],
    secretsFingerprintKeyVariable: o.secretsFingerprintKeyVariable ?? "JAWS_SECRETS_FINGERPRINT_KEY",
    directories: (o.directories ?? []).map((d) => ({
      path: normalisePath(d.path),
      mode: d.mode ?? "0750",
      group: d.group,
      defaultAcl: d.defaultAcl ?? [],
    })),
    setfacl: o.setfacl ?? true,
    includeFiles: (o.includeFiles ?? []).map((f) => normalisePath(f)),
    preflight: (o.preflight ?? []).map((e) => ({ host: e.host, port: e.port, name: e.name ?? `${e.host}:${e.port}` })),
    preflightTimeoutSeconds: o.preflightTimeoutSeconds ?? 5,
    inputProblems: tokenProblems(o, path),
  };
}
