import type { TerraformResource } from "cdktf";
import { Construct } from "constructs";
import { controlCommand, HOST_FILES, hostPath } from "./host-layout";
import type { ConfigFileModel } from "./model/config-file";
import { type InstanceModel, resolveInstance } from "./model/instance";
import type { LauncherKind, SlurmStarterKind } from "./model/launcher";
import type { ReleaseModel } from "./model/release";
import type { ServiceModel } from "./model/service";
import type { ByteSize, Deployment, DeployResourceKind, LogLevel } from "./model/values";
import { type RenderedInstance, renderInstance } from "./render/render-instance";
import { SLURM_FILES } from "./render/render-launcher";
import { renderSecretsScript } from "./render/secrets-script";
import { formatProblem, hostConflicts, instanceWarnings, type Problem, validateInstance } from "./rules";
import { fingerprintKeyWarning, readSecretFingerprints, type SecretFingerprints } from "./secret-fingerprints";
import { addOutput, createDeployResources, createSecretsResource, warn } from "./terraform";

/**
 * Props of SupervisorInstance: one supervisord process on one host, run as one Unix user.
 * Plain data, so the model can be validated and rendered without Terraform.
 */
export interface SupervisorInstanceProps {
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

  // ---- launcher -----------------------------------------------------------
  /**
   * How supervisord runs: `daemon` (started by the deploy on the host it deploys to) or `slurm`
   * (in the foreground inside a long-lived Slurm job that the deploy submits from the login node
   * and a periodic starter resubmits; its control endpoint is `inetPort` on the node's address,
   * which the job publishes in `run/slurm-job.json`). See "The Slurm launcher" in the README.
   * @default daemon
   */
  readonly launcher?: LauncherKind;
  /**
   * Slurm: the job's name; exactly one job of this name (and user) is kept queued or running.
   * @default - the supervisord identifier (`supervisor-<name>-<deployment>`)
   */
  readonly slurmJobName?: string;
  /**
   * Slurm: `sbatch --qos` (NERSC: `workflow`).
   * @default - none: the user's default QOS
   */
  readonly slurmQos?: string;
  /**
   * Slurm: `sbatch --constraint` (NERSC: `cron`, the workflow nodes).
   * @default - none
   */
  readonly slurmConstraint?: string;
  /**
   * Slurm: `sbatch --account`.
   * @default - none: the user's default account
   */
  readonly slurmAccount?: string;
  /**
   * Slurm: `sbatch --partition`.
   * @default - none: the cluster's default partition
   */
  readonly slurmPartition?: string;
  /**
   * Slurm: `sbatch --time`, the job's time limit (Slurm's formats: `90-00:00:00`, `720`, ...).
   * @default 90-00:00:00
   */
  readonly slurmTimeLimit?: string;
  /**
   * Slurm: minutes kept free before the next maintenance reservation (a reservation with the
   * MAINT flag in `scontrol show res`): the job is submitted with `--time-min` = minutes until
   * it starts minus this buffer, so Slurm may start it before the maintenance.
   * @default 120
   */
  readonly slurmMaintenanceBufferMinutes?: number;
  /**
   * Slurm: `sbatch --cpus-per-task`.
   * @default - none: Slurm's default (1)
   */
  readonly slurmCpusPerTask?: number;
  /**
   * Slurm: what runs the starter (`bin/starter`: submits the job when none of its name is
   * queued or running) every few minutes: the user's `scrontab` (NERSC, where login nodes have
   * no cron) or the user's `crontab` on the login node the deploy reaches.
   * @default crontab
   */
  readonly slurmStarter?: SlurmStarterKind;
  /**
   * Slurm: when the starter runs (five crontab fields).
   * @default every 5 minutes
   */
  readonly slurmStarterSchedule?: string;
  /**
   * Slurm, `slurmStarter: "scrontab"`: sbatch options of the starter's own scrontab job, one
   * `#SCRON` line each (e.g. `--qos=cron`, `--time=00:10:00`).
   * @default - none
   */
  readonly slurmStarterOptions?: readonly string[];
  /**
   * Slurm: shell lines the job runs each time it has published a new address, before supervisord
   * starts (where JAWS calls `nsupdate`). Operator code, run as written, with
   * `JAWS_SUPERVISOR_ADDRESS`, `JAWS_SUPERVISOR_NODE`, `JAWS_SUPERVISOR_URL` and `SLURM_JOB_ID`
   * set; a failure is logged and does not stop the job.
   * @default - none
   */
  readonly slurmAddressHook?: readonly string[];

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
   * When cron runs the ensure script (five crontab fields).
   * @default every 5 minutes
   */
  readonly ensureCronSchedule?: string;
  /**
   * Directories the programs need (scratch, inputs, config...), made and corrected by every
   * deploy (group, mode, default ACLs), never deleted, left in place by destroy.
   * @default - none
   */
  readonly directories?: readonly DirectoryProps[];
  /**
   * Apply the directories' default ACLs with `setfacl` (where the host has it). Sites without
   * ACL support turn it off (JAWS_SETFACL=0 at Dori).
   * @default true
   */
  readonly setfacl?: boolean;
  /**
   * `[include] files=` globs of drop-in configs written by other tools (Cromwell, the pool
   * manager): validated with ours by supervisord's parser before a deploy applies anything,
   * never written or deleted by the deploy; a drop-in's programs restart when its file changed
   * since the last deploy.
   * @default - none
   */
  readonly includeFiles?: readonly string[];
  /**
   * TCP endpoints the programs need (JAWS central, RabbitMQ, the database): before it changes
   * anything, the deploy checks from the host that each answers, and fails naming the first
   * that does not.
   * @default - none
   */
  readonly preflight?: readonly PreflightEndpoint[];
  /**
   * Seconds each preflight endpoint has to accept a connection.
   * @default 5
   */
  readonly preflightTimeoutSeconds?: number;
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
  /**
   * The CI variable holding the key of the secrets' keyed fingerprints (HMAC-SHA256), read at
   * synth by deploy jobs only: a rotated secret re-runs the deploy, an unchanged one opens no SSH
   * session. Without it (a diff job) the secrets are not compared (synth warns).
   * @default JAWS_SECRETS_FINGERPRINT_KEY
   */
  readonly secretsFingerprintKeyVariable?: string;
}

/** A directory the programs of an instance need. */
export interface DirectoryProps {
  /** Absolute path. */
  readonly path: string;
  /**
   * Octal mode, e.g. `2770` (setgid, group rwx) as JAWS used for scratch.
   * @default 0750
   */
  readonly mode?: string;
  /**
   * Owning group (the instance's user must belong to it).
   * @default - the user's primary group
   */
  readonly group?: string;
  /**
   * Default ACL entries (`setfacl -d -m`), e.g. `g:genome:rx`, applied when the instance's
   * `setfacl` is on and the host has setfacl.
   * @default - none
   */
  readonly defaultAcl?: readonly string[];
}

/** A TCP endpoint checked before a deploy changes anything. */
export interface PreflightEndpoint {
  readonly host: string;
  readonly port: number;
  /**
   * What it is, for the error message.
   * @default - host:port
   */
  readonly name?: string;
}

const INSTANCE_SYMBOL = Symbol.for("jaws-deploy.SupervisorInstance");

/**
 * One supervisord process on one host, run as one Unix user, deployed over SSH.
 * Add programs with `new JawsService(scope, id, { instance, ... })`.
 */
export class SupervisorInstance extends Construct {
  static isSupervisorInstance(x: unknown): x is SupervisorInstance {
    return typeof x === "object" && x !== null && INSTANCE_SYMBOL in x;
  }

  /** The instance directory on the host. */
  readonly directory: string;
  /**
   * The host's command line of the instance's control tool (jawsctl), before its subcommand
   * (`status`, `pids`...): run it on the host as the instance's user.
   */
  readonly controlCommand: readonly string[];
  /** The host's path of the ensure script: starts supervisord again after a maintenance. */
  readonly ensureScript: string;
  private readonly props: SupervisorInstanceProps;
  private readonly services: ServiceModel[] = [];
  private readonly releases: ReleaseModel[] = [];
  private readonly configFiles: ConfigFileModel[] = [];
  private readonly deployResource: TerraformResource;
  private secretsResource?: TerraformResource;
  private fingerprints?: SecretFingerprints;
  private resolved?: InstanceModel;
  private rendered?: RenderedInstance;

  constructor(scope: Construct, id: string, props: SupervisorInstanceProps) {
    super(scope, id);
    Object.defineProperty(this, INSTANCE_SYMBOL, { value: true });
    this.props = props;
    const model = this.model();
    this.directory = model.dir;
    this.controlCommand = controlCommand(model.dir);
    this.ensureScript = hostPath(model.dir, HOST_FILES.ensure);

    this.deployResource = createDeployResources(this, {
      kind: model.deployResource,
      connection: model.ssh,
      instanceDirectory: model.dir,
      // cdktf resolves every value before it runs validations: an invalid model renders nothing,
      // and the validation below reports its problems.
      isValid: () => this.problems().length === 0,
      triggers: () => this.triggers(),
      bundle: () => this.render().bundle,
      destroyScript: () => this.render().destroyScript,
    }).deploy;

    for (const w of instanceWarnings(model)) warn(this, formatProblem(w));
    // cdktf prefixes each message with this construct's path: other paths (a program's) are named.
    this.node.addValidation({
      validate: () => this.problems().map((p) => (p.path === this.node.path ? `${p.field}: ${p.message}` : formatProblem(p))),
    });
    this.addOutputs(model);
  }

  /** Called by JawsService; services render in the order they were added. */
  addService(service: ServiceModel): void {
    if (this.rendered) throw new Error(`${this.node.path}: cannot add ${service.name} after synthesis`);
    this.services.push(service);
    this.resolved = undefined;
  }

  /** Called by PythonRelease. */
  addRelease(release: ReleaseModel): void {
    if (this.rendered) throw new Error(`${this.node.path}: cannot add release ${release.package} after synthesis`);
    this.releases.push(release);
    this.resolved = undefined;
  }

  /** Called by ConfigFile; the first file with a secret adds the resource that sends the secrets. */
  addConfigFile(file: ConfigFileModel): void {
    if (this.rendered) throw new Error(`${this.node.path}: cannot add config file ${file.declaredPath} after synthesis`);
    this.configFiles.push(file);
    this.resolved = undefined;
    if (!this.secretsResource && Object.keys(file.secrets).length > 0) {
      const warning = fingerprintKeyWarning(this.model().secretsFingerprintKeyVariable);
      if (warning) warn(this, warning);
      this.secretsResource = createSecretsResource(this, this.deployResource, {
        kind: this.model().deployResource,
        isValid: () => this.problems().length === 0,
        triggers: () => this.secretFingerprints().triggers,
        comparable: warning === undefined,
        script: () => renderSecretsScript(this.model()),
      });
    }
  }

  /** The resolved model: defaults applied, services included (what validation and rendering see). */
  model(): InstanceModel {
    this.resolved ??= resolveInstance(this.props, this.node.path, this.services, {
      releases: this.releases,
      configFiles: this.configFiles,
    });
    return this.resolved;
  }

  /** The keyed fingerprints of the secrets' values (read from the environment once, at synth). */
  private secretFingerprints(): SecretFingerprints {
    this.fingerprints ??= readSecretFingerprints(this.model());
    return this.fingerprints;
  }

  /** Everything the host gets (validated; throws the problems otherwise). */
  render(): RenderedInstance {
    this.rendered ??= renderInstance(this.model());
    return this.rendered;
  }

  /** Everything wrong with the instance: its own rules, then its conflicts with the app's other instances. */
  private problems(): Problem[] {
    const secrets = this.secretsResource ? this.secretFingerprints().problems : [];
    return [...validateInstance(this.model()), ...this.hostConflicts(), ...secrets];
  }

  /** This instance's conflicts with the other instances of the app, found by walking the construct tree. */
  private hostConflicts(): Problem[] {
    const all = this.node.root.node.findAll().filter(SupervisorInstance.isSupervisorInstance);
    const path = this.node.path;
    return hostConflicts(all.map((i) => i.model())).filter((p) => p.path === path);
  }

  private triggers(): Record<string, string> {
    const r = this.render();
    const t: Record<string, string> = { instance_dir: this.directory, deploy_id: r.deployId };
    if (this.props.redeployToken !== undefined) t.redeploy = this.props.redeployToken;
    // Readable content, so `cdktf diff` shows the changed lines of what lands on the host. The
    // config goes one section per trigger: a diff names the section, and no string grows with
    // the fleet (Terraform parses long multi-line strings in quadratic time).
    for (const [section, text] of r.configSections) {
      t[section === "" ? "file:supervisord.conf" : `file:supervisord.conf[${section}]`] = text;
    }
    for (const [name, text] of r.wrappers) t[`file:bin/${name}.sh`] = text;
    for (const [name, text] of r.probes) t[`probe:${name}`] = text;
    // The version of each release, and each config file's plain text (its secrets are placeholders).
    for (const rel of this.model().releases) t[`release:${rel.package}`] = rel.version;
    for (const [file, text] of r.configFiles) t[`config:${file}`] = text;
    return t;
  }

  private addOutputs(m: InstanceModel): void {
    const ssh = [
      "ssh",
      ...(m.ssh.port === 22 ? [] : ["-p", String(m.ssh.port)]),
      ...(m.ssh.bastion ? ["-J", `${m.ssh.bastion.user}@${m.ssh.bastion.host}:${m.ssh.bastion.port}`] : []),
      `${m.ssh.user}@${m.ssh.host}`,
    ].join(" ");
    const ctl = hostPath(m.dir, HOST_FILES.supervisorctl);
    const g = m.group.name;
    addOutput(this, "status", `${ssh} ${ctl} status`, `Status of every program of ${m.name}-${m.deployment}`);
    addOutput(this, "start", `${ssh} ${ctl} start '${g}:*'`, "Start every program of the group");
    addOutput(this, "stop", `${ssh} ${ctl} stop '${g}:*'`, "Stop every program of the group");
    addOutput(this, "tail", `${ssh} ${ctl} tail -f ${g}:<program>`, "Follow a program's log (put the program name in)");
    addOutput(this, "ensure", `${ssh} ${this.ensureScript}`, "Start supervisord again after a host maintenance");
    if (m.launcher.kind === "slurm") {
      const starter = hostPath(m.dir, SLURM_FILES.starter);
      addOutput(this, "starter", `${ssh} ${starter}`, `Submit the Slurm job ${m.launcher.jobName} now if none is queued or running`);
    }
  }
}
