import type { ConfigFileProps, PreflightEndpoint, PythonReleaseProps, SupervisorInstanceProps } from "../constructs";
import { jawsRelease, jawsSiteConfToday } from "./jaws-config";
import { JAWS_SITE_CONF, JAWS_SITE_RELEASE, type JawsSiteRuntime, jawsSitePaths, jawsSitePrograms } from "./jaws-programs";
import type { DeploymentSettings, LaunchTool, SiteDefinition } from "./site";

/**
 * The sites JAWS deploys to today, as data read from the JAWS repository's branch `main` at
 * 6f95a8a7 (release 2.5.4): .gitlab-ci.yml, test/integration/configs/{default,deployments/*,sites/*}.sh,
 * test/integration/templates/{all.sh,supervisor.conf,supervisor.site.conf,setup_perms_facl.sh,...}.
 * Since 2022 one user and one supervisord per site and deployment; Cromwell and the pool manager are
 * deployed by other repositories and join it through `[include] files = <config>/supervisor.*.conf`.
 *
 * ASSUMED (not read in the repository; an operator should confirm):
 *   - jaws-site release 2.5.4 (JAWS_SITE_VERSION of that commit) is the one installed;
 *   - JGI's service host is still lrc-services.lbl.gov (JGI_SUPERVISOR_HOST of 2022);
 *   - TAHOMA's is twf1.emsl.pnl.gov (test/integration/README.md: "ssh to twf1 ... before you
 *     change into the user");
 *   - NMDC_TAHOMA's and DEFIANT's hosts are unknown: JAWS_HOST_NMDC_TAHOMA / JAWS_HOST_DEFIANT
 *     (the runner tags name `twf2` for NMDC_TAHOMA);
 *   - users: NMDC_TAHOMA `svcnmdcuser` (its scratch dir's name, as TAHOMA's is its user's),
 *     DEFIANT `bif150_auser` (the home its install base is in); the others are named in the repository;
 *   - downloads/: the deploy scripts do not make it (the transfer daemon does): modelled like inputs/;
 *   - preflight: the programs' RabbitMQ (jaws-rmq.jgi.lbl.gov:5672) and database
 *     (jaws-db.jgi.lbl.gov:3306) of configs/default.sh, and the HTTPS hosts CI's
 *     `.check-vm-connections` curls (port 443); at Tahoma CI reaches those through
 *     proxy.emsl.pnl.gov:3128, which is checked instead.
 *   - no host keys are pinned: JAWS_HOST_KEY_<SITE> (or sites/known_hosts).
 *   - NERSC (Perlmutter, NMDC, KBase): deploys reach a Perlmutter login node as perlmutter.nersc.gov;
 *     the starter's own scrontab job runs with `--qos=cron --time=00:10:00`; the supervisord job's
 *     options are the reference's (`--qos workflow -C cron --cpus-per-task=16 --time=90-00:00:00`,
 *     --time-min 120 minutes before the next maintenance), with no account (the user's default).
 *     The nsupdate of the node's address (slurmAddressHook) is not modelled: its server and TSIG key
 *     are not in the repository.
 * Deliberate differences: supervisord's HTTP endpoint listens on 127.0.0.1, not 0.0.0.0 (at NERSC
 * on the node's own address, where the job publishes it, not on every interface); KBase's supervisord
 * ports are 64107-64109, not Perlmutter's 64101-64103: both sites' jobs run on the same workflow nodes,
 * where the second supervisord could not bind the port (the synth refuses such a pair); the
 * supervisor-launched sites (JAWS: apptainer-run of bin/site-<version>.sif) run jaws-site from a
 * versioned release instead (PythonRelease `jaws-site`: a venv per version, JAWS's own "venv"
 * install method, switched atomically and rolled back by the health gate), with
 * `config/jaws-site.conf` rendered by the deploy (templates/site.conf's sections, the Globus
 * client secret in [GLOBUS] instead of site.env, mode 0600), its passwords from CI variables
 * (sites/jaws-config.ts). The Slurm-launched sites (NERSC) deploy with the Slurm launcher and run
 * jaws-site from the venv JAWS's CI installs (its `venv` method): their jaws-site.conf facts are not
 * in this catalogue yet; Dori (systemd) is data only.
 */

/** jaws-site release the sites run (assumed: JAWS_SITE_VERSION of release 2.5.4). */
export const JAWS_SITE_VERSION = "2.5.4";

/** What one site's CI configuration says about it. */
interface SiteFacts {
  /** JAWS_SITE_NAME, lower case: paths are `<base>/<name>-<dep>`. */
  readonly name: string;
  readonly launch: LaunchTool;
  readonly install: JawsSiteRuntime["install"];
  readonly host?: string;
  readonly user: string;
  /** JAWS_GROUP. */
  readonly group: string;
  /** JAWS_USERS_GROUP; none: the scratch dirs are opened to others instead. */
  readonly usersGroup?: string;
  /** JAWS_INSTALL_BASEDIR. */
  readonly installBase: string;
  /** JAWS_SCRATCH_BASEDIR. */
  readonly scratchBase: string;
  /** JAWS_LOAD_PYTHON (none at Dori). */
  readonly pythonModule?: string;
  /** JAWS_SETFACL. @default true */
  readonly setfacl?: boolean;
  /** JAWS_SITE_INPUT_FOLDER_PERMS. @default 0775 */
  readonly inputFolderPerms?: string;
  /** supervisord and Cromwell ports of dev, staging, prod. */
  readonly ports: { readonly supervisord: readonly number[]; readonly cromwell: readonly number[] };
  /** Reached through an HTTP proxy (Tahoma). */
  readonly proxy?: PreflightEndpoint;
  /** jaws-site.conf's site facts (configs/sites/<site>.sh), for the sites jaws-deploy deploys. */
  readonly app?: {
    /** JAWS_GLOBUS_EP (empty at Defiant). */
    readonly globusEndpoint: string;
    /** JAWS_GLOBUS_HOST_PATH */
    readonly globusHostPath: string;
    /** JAWS_MAX_RAM_GB, JAWS_MAX_CPU, JAWS_MAX_TIME */
    readonly maxRamGb: number;
    readonly maxCpu: number;
    readonly maxTime: number;
  };
}

/** configs/deployments/*.sh */
const LOG_LEVELS: Record<string, string> = { dev: "DEBUG", staging: "DEBUG", prod: "INFO" };
const DEFAULT_PORTS = { supervisord: [64101, 64102, 64103], cromwell: [50101, 50102, 50103] };
const APPTAINER = "/usr/bin/apptainer";

/** What every site's programs connect to (configs/default.sh), and what CI checks before a deploy. */
const CENTRAL: PreflightEndpoint[] = [
  { name: "JAWS RabbitMQ", host: "jaws-rmq.jgi.lbl.gov", port: 5672 },
  { name: "JAWS database", host: "jaws-db.jgi.lbl.gov", port: 3306 },
];
const CHECK_VM_CONNECTIONS: PreflightEndpoint[] = [
  { name: "JAWS central", host: "jaws.jgi.doe.gov", port: 443 },
  { name: "JAWS RabbitMQ (HTTPS)", host: "jaws-rmq.jgi.doe.gov", port: 443 },
  { name: "JAWS ingest", host: "jaws-ingest.jgi.doe.gov", port: 443 },
];
const EMSL_PROXY: PreflightEndpoint = { name: "EMSL HTTP proxy", host: "proxy.emsl.pnl.gov", port: 3128 };

/**
 * NERSC's starter.sh: one job `jaws_<site>_<dep>` on a workflow node (`--qos workflow -C cron`),
 * 16 CPUs, 90 days, `--time-min` 120 minutes before the next maintenance, resubmitted by scrontab.
 */
function nerscSlurmJob(site: string, deployment: string): Partial<SupervisorInstanceProps> {
  return {
    launcher: "slurm",
    slurmJobName: `jaws_${site}_${deployment}`,
    slurmQos: "workflow",
    slurmConstraint: "cron",
    slurmCpusPerTask: 16,
    slurmTimeLimit: "90-00:00:00",
    slurmMaintenanceBufferMinutes: 120,
    slurmStarter: "scrontab",
    slurmStarterOptions: ["--qos=cron", "--time=00:10:00"],
  };
}

/** One instance `jaws` per deployment (stack `jaws-<site>`), group `jaws-site`, the four programs. */
function jawsSite(f: SiteFacts): SiteDefinition {
  const modules = f.pythonModule ? [f.pythonModule] : [];
  // jaws-deploy installs the release where it deploys (supervisor); the other sites keep JAWS's method as data.
  const deployed = f.launch === "supervisor" && f.app !== undefined;
  const runtime: JawsSiteRuntime = { install: deployed ? "release" : f.install, version: JAWS_SITE_VERSION, apptainer: APPTAINER, modules };
  const deployments: Record<string, DeploymentSettings> = Object.fromEntries(
    ["dev", "staging", "prod"].map((d, i) => [
      d,
      {
        installDirectory: `${f.installBase}/${f.name}-${d}`,
        logLevel: LOG_LEVELS[d],
        cromwellPort: f.ports.cromwell[i],
        supervisordPorts: { jaws: f.ports.supervisord[i] },
      },
    ]),
  );
  const setfacl = f.setfacl ?? true;
  const perms = f.inputFolderPerms ?? "0775";
  // setup_perms_facl.sh: without a users group, others get rwx (`setfacl -m o::rwx`) on the
  // scratch and inputs dirs, and the default ACLs name others instead of the group.
  const opened = setfacl && !f.usersGroup ? "0777" : perms;
  const users = (rights: string) => (f.usersGroup ? `g:${f.usersGroup}:${rights}` : `o::${rights}`);
  return {
    name: f.name,
    host: f.host,
    launch: f.launch,
    shellPreamble: modules,
    pythonCommand: "python3",
    deployments,
    instances: [
      {
        name: "jaws",
        user: f.user,
        // JAWS_SUPERVISOR_DIR: the instance is `<install>/supervisor/jaws-<dep>`.
        baseDirectory: (d) => `${d.settings.installDirectory}/supervisor`,
        control: "inet",
        services: (d) => jawsSitePrograms(d, runtime),
        releases: (d): Record<string, PythonReleaseProps> =>
          deployed ? { [JAWS_SITE_RELEASE]: jawsRelease("jaws-site", JAWS_SITE_VERSION, d.settings.installDirectory) } : {},
        configFiles: (d): Record<string, ConfigFileProps> => {
          if (!deployed || !f.app) return {};
          const scratch = `${f.scratchBase}/${f.name}-${d.deployment}`;
          return {
            [JAWS_SITE_CONF]: jawsSiteConfToday({
              site: f.name,
              deployment: d.deployment,
              path: `${jawsSitePaths(d.settings.installDirectory).config}/jaws-site.conf`,
              ...f.app,
              inputsDirectory: `${scratch}/inputs`,
              downloadsDirectory: `${scratch}/downloads`,
              cromwellExecutions: `${scratch}/cromwell-executions`,
              cromwellPort: d.settings.cromwellPort,
              // configs/deployments/prod.sh: 16 RPC threads in prod, default.sh: 5.
              rpcThreads: d.deployment === "prod" ? 16 : 5,
            }),
          };
        },
        props: (d) => {
          const p = jawsSitePaths(d.settings.installDirectory);
          const slurm: Partial<SupervisorInstanceProps> = f.launch === "scrontab" ? nerscSlurmJob(f.name, d.deployment) : {};
          const scratch = `${f.scratchBase}/${f.name}-${d.deployment}`;
          const acl = (...entries: string[]) => (setfacl ? entries : []);
          return {
            groupName: "jaws-site",
            // supervisor.conf: `nodaemon=true` where supervisord runs inside a Slurm job.
            nodaemon: f.launch === "scrontab",
            includeFiles: [`${p.config}/supervisor.*.conf`],
            setfacl,
            directories: [
              // setup_environment.sh: 750, group JAWS_GROUP (the SIF goes to bin/).
              { path: p.bin, group: f.group, mode: "0750" },
              { path: p.config, group: f.group, mode: "0750" },
              { path: p.log, group: f.group, mode: "0750" },
              // setup_perms_facl.sh
              { path: scratch, group: f.group, mode: opened, defaultAcl: acl(`g:${f.group}:rwx`, users("rwx")) },
              { path: `${scratch}/inputs`, group: f.group, mode: opened, defaultAcl: acl(`g:${f.group}:rwx`, users("rwx")) },
              { path: `${scratch}/downloads`, group: f.group, mode: opened, defaultAcl: acl(`g:${f.group}:rwx`, users("rwx")) },
              { path: `${scratch}/cromwell-executions`, group: f.group, mode: "0775", defaultAcl: acl(`g:${f.group}:rwx`, users("rx")) },
            ],
            preflight: [...CENTRAL, ...(f.proxy ? [f.proxy] : CHECK_VM_CONNECTIONS)],
            ...slurm,
          };
        },
      },
    ],
  };
}

export const jgi = jawsSite({
  name: "jgi",
  launch: "supervisor",
  install: "apptainer-run",
  host: "lrc-services.lbl.gov",
  user: "jaws",
  group: "jaws",
  usersGroup: "jgi",
  installBase: "/global/home/groups-sw/lr_jgicloud/jaws-install",
  scratchBase: "/global/scratch/users/jaws",
  pythonModule: "module load python/3.11.6-gcc-11.4.0",
  ports: DEFAULT_PORTS,
  app: {
    globusEndpoint: "e8b18c38-36cd-11eb-b54c-02d9497ca481",
    globusHostPath: "/global/scratch/users/jaws",
    maxRamGb: 492,
    maxCpu: 32,
    maxTime: 4305,
  },
});

export const tahoma = jawsSite({
  name: "tahoma",
  launch: "supervisor",
  install: "apptainer-run",
  host: "twf1.emsl.pnl.gov",
  user: "svc-jtm-manager",
  group: "svc-jtm-manager",
  usersGroup: "svc-jtm-manager",
  installBase: "/tahoma/mscjgi/jaws-install",
  scratchBase: "/tahoma/mscjgi/scratch/svc-jtm-manager",
  pythonModule: "module load python/3.11.2-gcc",
  ports: DEFAULT_PORTS,
  proxy: EMSL_PROXY,
  app: {
    globusEndpoint: "90170904-5642-11ed-89db-ede5bae4f491",
    globusHostPath: "/tahoma/mscjgi",
    maxRamGb: 1480,
    maxCpu: 36,
    maxTime: 2865,
  },
});

export const nmdcTahoma = jawsSite({
  name: "nmdc_tahoma",
  launch: "supervisor",
  install: "apptainer-run",
  user: "svcnmdcuser",
  group: "mscnmdc",
  usersGroup: "svcnmdcuser",
  installBase: "/tahoma/mscnmdc/jaws-install",
  scratchBase: "/tahoma/mscnmdc/scratch/svcnmdcuser",
  pythonModule: "module load python/3.11.2-gcc",
  ports: DEFAULT_PORTS,
  proxy: EMSL_PROXY,
  app: {
    globusEndpoint: "1d29d628-2fe2-4f4c-8469-2197b140a824",
    globusHostPath: "/tahoma/mscnmdc",
    maxRamGb: 1480,
    maxCpu: 36,
    maxTime: 2865,
  },
});

export const defiant = jawsSite({
  name: "defiant",
  launch: "supervisor",
  install: "apptainer-run",
  user: "bif150_auser",
  group: "bif150",
  installBase: "/ccsopen/home/bif150_auser/jaws-install",
  scratchBase: "/lustre/polis/bif150/proj-shared/jaws",
  pythonModule: "module load cray-python/3.10.10",
  ports: DEFAULT_PORTS,
  app: { globusEndpoint: "", globusHostPath: "/ccsopen/home/bif150_auser/globus-ep", maxRamGb: 256, maxCpu: 128, maxTime: 1425 },
});

// NERSC: supervisord in a Slurm job (scrontab's starter.sh; here the Slurm launcher), reached at the
// dynamic DNS name `<site>-<dep>.jaws.dyn.jgi.doe.gov`; the deploy goes to a login node.
const NERSC_LOGIN = "perlmutter.nersc.gov";
export const perlmutter = jawsSite({
  name: "perlmutter",
  launch: "scrontab",
  install: "venv",
  host: NERSC_LOGIN,
  user: "jaws",
  group: "jaws",
  usersGroup: "genome",
  installBase: "/global/cfs/cdirs/jaws/jaws-install",
  scratchBase: "/pscratch/sd/j/jaws",
  pythonModule: "module load python/3.11",
  ports: DEFAULT_PORTS,
});

export const nmdc = jawsSite({
  name: "nmdc",
  launch: "scrontab",
  install: "venv",
  host: NERSC_LOGIN,
  user: "nmjaws",
  group: "nmjaws",
  usersGroup: "m3408",
  installBase: "/global/cfs/cdirs/m3408/jaws-install",
  scratchBase: "/pscratch/sd/n/nmjaws",
  pythonModule: "module load python/3.11",
  ports: { supervisord: [64104, 64105, 64106], cromwell: [50104, 50105, 50106] },
});

export const kbase = jawsSite({
  name: "kbase",
  launch: "scrontab",
  install: "venv",
  host: NERSC_LOGIN,
  user: "kbjaws",
  group: "kbjaws",
  usersGroup: "kbase",
  installBase: "/global/cfs/cdirs/kbase/jaws",
  scratchBase: "/pscratch/sd/k/kbjaws",
  pythonModule: "module load python/3.11",
  // JAWS gives KBase Perlmutter's supervisord ports (64101-3): their jobs can share a workflow node.
  ports: { supervisord: [64107, 64108, 64109], cromwell: [50104, 50105, 50106] },
});

// Dori: `systemctl --user` units (ConditionHost=ln010.jgi) running the image; no ACLs, inputs 2777.
export const dori = jawsSite({
  name: "dori",
  launch: "systemd",
  install: "apptainer-run",
  user: "svc-jaws",
  group: "grp-svc-jaws",
  installBase: "/clusterfs/jgi/groups/dsi/homes/svc-jaws/jaws-install",
  scratchBase: "/clusterfs/jgi/scratch/dsi/aa/jaws",
  setfacl: false,
  inputFolderPerms: "2777",
  ports: DEFAULT_PORTS,
});
