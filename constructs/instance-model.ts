import type { ServiceModel } from "./service-model";
import type { ByteSize, Deployment, LogLevel } from "./values";

/** Which Terraform resource carries the deploy. */
export type DeployResourceKind = "null_resource" | "terraform_data";

/**
 * Everything that describes one supervisord instance: one supervisord process
 * on one host, run as one Unix user. Plain data, so it can be validated and
 * rendered without Terraform.
 */
export interface SupervisorInstanceOptions {
  // ---- where and as whom -------------------------------------------------
  /** Instance name, e.g. `jaws` or `jtm`. Used in paths, identifier and outputs. */
  readonly name: string;
  /** Deployment this instance belongs to (`dev`, `staging`, `prod`, or your own name). */
  readonly deployment: Deployment | string;
  /** SSH host name or address of the service node. */
  readonly host: string;
  /**
   * SSH port.
   * @default 22
   */
  readonly port?: number;
  /** Unix user that owns and runs this instance (the SSH login user). */
  readonly user: string;
  /**
   * Pinned SSH host key of `host` (`ssh-ed25519 AAAA...`, as `ssh-keyscan` prints it
   * without the host name). Required unless `insecureSkipHostKeyCheck` is set.
   * @default - none: synth fails
   */
  readonly hostKey?: string;
  /**
   * Connect without checking the host key. Raises a warning on every synth.
   * @default false
   */
  readonly insecureSkipHostKeyCheck?: boolean;
  /**
   * Path of the SSH private key file, read by Terraform at deploy time (`~` allowed).
   * The key itself never enters the synthesized JSON.
   * @default - the keys of the running ssh-agent (SSH_AUTH_SOCK)
   */
  readonly privateKeyFile?: string;
  /**
   * Path of an SSH certificate for the private key (NERSC sshproxy issues these).
   * @default - no certificate
   */
  readonly certificateFile?: string;
  /**
   * Jump host to reach `host` through.
   * @default - direct connection
   */
  readonly bastionHost?: string;
  /**
   * SSH port of the bastion host.
   * @default 22
   */
  readonly bastionPort?: number;
  /**
   * User on the bastion host.
   * @default - same as `user`
   */
  readonly bastionUser?: string;
  /**
   * Private key file for the bastion host.
   * @default - same as `privateKeyFile`
   */
  readonly bastionPrivateKeyFile?: string;
  /**
   * Certificate file for the bastion host's key.
   * @default - same as `certificateFile`
   */
  readonly bastionCertificateFile?: string;
  /**
   * Pinned host key of the bastion host.
   * @default - none: synth fails unless `insecureSkipHostKeyCheck`
   */
  readonly bastionHostKey?: string;

  // ---- files and Python --------------------------------------------------
  /**
   * Directory under which the instance directory `<name>-<deployment>` is made.
   * Must not be under /tmp: HPC hosts wipe it.
   * @default /home/<user>/jaws-supervisor
   */
  readonly baseDirectory?: string;
  /**
   * Python used to create the supervisor venv.
   * @default python3
   */
  readonly pythonCommand?: string;
  /**
   * Shell lines run before Python is used, e.g. `module load python`.
   * They are operator code and are run as written.
   * @default - none
   */
  readonly shellPreamble?: readonly string[];
  /**
   * supervisor version pinned in the venv.
   * @default 4.2.5
   */
  readonly supervisorVersion?: string;
  /**
   * Package index for `pip install` (sites without PyPI).
   * @default - pip's default index
   */
  readonly pipIndexUrl?: string;
  /**
   * Local directories or URLs with supervisor distributions (`pip --find-links`).
   * @default - none
   */
  readonly pipFindLinks?: readonly string[];
  /**
   * Do not contact any package index (`pip --no-index`); use with `pipFindLinks`.
   * @default false
   */
  readonly pipNoIndex?: boolean;
  /**
   * Create the venv with `--system-site-packages`, so a supervisor installed on
   * the host (e.g. Debian's package) of the pinned version is used without pip.
   * @default false
   */
  readonly venvSystemSitePackages?: boolean;

  // ---- control endpoint -------------------------------------------------
  /**
   * Serve supervisorctl on `inet_http_server` at this port instead of a unix socket.
   * @default - unix socket `<instance dir>/run/supervisor.sock`
   */
  readonly inetPort?: number;
  /**
   * Address `inet_http_server` binds to. Anything but loopback raises a warning.
   * @default 127.0.0.1
   */
  readonly inetHost?: string;
  /**
   * Unix socket path of the control endpoint.
   * @default <instance dir>/run/supervisor.sock
   */
  readonly socketFile?: string;

  // ---- [supervisord] ------------------------------------------------------
  /** @default <instance dir>/log/supervisord.log */
  readonly logfile?: string;
  /** @default 50MB */
  readonly logfileMaxbytes?: ByteSize;
  /** @default 2 */
  readonly logfileBackups?: number;
  /** @default info */
  readonly loglevel?: LogLevel;
  /** @default <instance dir>/run/supervisord.pid */
  readonly pidfile?: string;
  /** @default 1024 */
  readonly minfds?: number;
  /** @default 200 */
  readonly minprocs?: number;
  /** @default supervisor-<name>-<deployment> */
  readonly identifier?: string;
  /** Octal umask of supervisord and its children. @default 022 */
  readonly umask?: string;
  /** @default <instance dir>/log */
  readonly childlogdir?: string;
  /**
   * Environment of supervisord itself (inherited by every program).
   * Values may not contain quotes, backslashes or control characters.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Run supervisord in the foreground (e.g. inside a batch job).
   * @default false
   */
  readonly nodaemon?: boolean;
  /** Working directory of supervisord. @default <instance dir> */
  readonly directory?: string;

  // ---- programs and deploy ----------------------------------------------
  /**
   * Name of the `[group:...]` that holds every service of this instance.
   * @default jaws-<deployment>
   */
  readonly groupName?: string;
  /** @default 999 */
  readonly groupPriority?: number;
  /**
   * Seconds the health gate waits for every autostart program to be RUNNING.
   * @default 60
   */
  readonly healthTimeoutSeconds?: number;
  /**
   * Seconds a deploy waits for another deploy of this instance to finish.
   * @default 300
   */
  readonly lockTimeoutSeconds?: number;
  /**
   * Install a marked crontab entry that runs the ensure script every few minutes,
   * so supervisord comes back after a host maintenance without a manual step.
   * @default false
   */
  readonly ensureCron?: boolean;
  /**
   * Any new value re-runs the deploy although nothing changed, e.g. after the
   * instance directory was wiped (`JAWS_REDEPLOY=$(date +%s) cdktf deploy ...`).
   * @default - none
   */
  readonly redeployToken?: string;
  /**
   * Terraform resource that runs the deploy. `terraform_data` is built into
   * Terraform (>= 1.4, which the stack then requires) and needs no provider download.
   * @default null_resource
   */
  readonly deployResource?: DeployResourceKind;
}

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
  readonly supervisord: SupervisordSettings;
  readonly group: { readonly name: string; readonly priority: number };
  readonly healthTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  readonly ensureCron: boolean;
  readonly deployResource: DeployResourceKind;
  readonly redeployToken?: string;
  readonly services: readonly ServiceModel[];
}

/** Applies the defaults; does not validate (see validate.ts). */
export function resolveInstance(o: SupervisorInstanceOptions, path: string, services: readonly ServiceModel[] = []): InstanceModel {
  const baseDirectory = o.baseDirectory ?? `/home/${o.user}/jaws-supervisor`;
  const dir = `${baseDirectory.replace(/\/+$/, "")}/${o.name}-${o.deployment}`;
  const control: ControlEndpoint =
    o.inetPort !== undefined
      ? { kind: "inet", host: o.inetHost ?? "127.0.0.1", port: o.inetPort }
      : { kind: "unix", socketFile: o.socketFile ?? `${dir}/run/supervisor.sock` };
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
      findLinks: o.pipFindLinks ?? [],
      noIndex: o.pipNoIndex ?? false,
      systemSitePackages: o.venvSystemSitePackages ?? false,
    },
    control,
    supervisord: {
      logfile: o.logfile ?? `${dir}/log/supervisord.log`,
      logfileMaxbytes: o.logfileMaxbytes ?? "50MB",
      logfileBackups: o.logfileBackups ?? 2,
      loglevel: o.loglevel ?? "info",
      pidfile: o.pidfile ?? `${dir}/run/supervisord.pid`,
      minfds: o.minfds ?? 1024,
      minprocs: o.minprocs ?? 200,
      identifier: o.identifier ?? `supervisor-${o.name}-${o.deployment}`,
      umask: o.umask ?? "022",
      childlogdir: o.childlogdir ?? `${dir}/log`,
      environment: o.environment ?? {},
      nodaemon: o.nodaemon ?? false,
      directory: o.directory ?? dir,
    },
    group: { name: o.groupName ?? `jaws-${o.deployment}`, priority: o.groupPriority ?? 999 },
    healthTimeoutSeconds: o.healthTimeoutSeconds ?? 60,
    lockTimeoutSeconds: o.lockTimeoutSeconds ?? 300,
    ensureCron: o.ensureCron ?? false,
    deployResource: o.deployResource ?? "null_resource",
    redeployToken: o.redeployToken,
    services,
  };
}
