import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConfigFileProps, JawsServiceOptions, PythonReleaseProps, SupervisorInstanceProps } from "../constructs";

/** What differs per deployment of a site (dev, staging, prod side by side on one host). */
export interface DeploymentSettings {
  /** Where the JAWS software of this deployment is installed on the host. */
  readonly installDirectory: string;
  /** Cromwell's REST port. */
  readonly cromwellPort: number;
  /**
   * supervisord HTTP ports of this site and deployment, per instance name; used by
   * instances whose control endpoint is `inet` (bound to 127.0.0.1).
   */
  readonly supervisordPorts: Readonly<Record<string, number>>;
  /**
   * `--log-level` of the JAWS programs.
   * @default - the programs' own default
   */
  readonly logLevel?: string;
}

/**
 * A program of a site's instance: JawsService's options, with its release and config files named
 * by their ids in the instance's `releases` and `configFiles` (data, not constructs).
 */
export type SiteService = JawsServiceOptions & {
  /** Id of the instance's release the program runs with. @default - none */
  readonly releaseId?: string;
  /** Ids of the instance's config files the program reads. @default - none */
  readonly configFileIds?: readonly string[];
};

/** One supervisord instance of a site: who runs it and which programs. */
export interface SiteInstance {
  /** `jaws` or `jtm`: also the stack name prefix (`jaws-<site>`). */
  readonly name: string;
  readonly user: string;
  /** Directory under which `<name>-<deployment>` is made; must be writable by `user`. */
  readonly baseDirectory: string | ((d: DeploymentContext) => string);
  /** Programs of this instance for one deployment. */
  readonly services: (d: DeploymentContext) => Readonly<Record<string, SiteService>>;
  /**
   * Python releases installed on the host (PythonRelease), by id.
   * @default - none
   */
  readonly releases?: (d: DeploymentContext) => Readonly<Record<string, PythonReleaseProps>>;
  /**
   * Config files rendered on the host with their secrets (ConfigFile), by id.
   * @default - none
   */
  readonly configFiles?: (d: DeploymentContext) => Readonly<Record<string, ConfigFileProps>>;
  /**
   * supervisorctl endpoint: a unix socket (mode 0700) or inet_http_server on
   * 127.0.0.1 at the deployment's port of `supervisordPorts`.
   * @default unix
   */
  readonly control?: "unix" | "inet";
  /**
   * Instance props of the site's data that depend on the deployment (directories, drop-in
   * globs, preflight endpoints, identifier...).
   * @default - none
   */
  readonly props?: (d: DeploymentContext) => Partial<SupervisorInstanceProps>;
  /**
   * Any other SupervisorInstance prop (pythonCommand, minfds, privateKeyFile...); wins over `props`.
   * @default - none
   */
  readonly options?: Partial<SupervisorInstanceProps>;
}

export interface DeploymentContext {
  readonly site: string;
  readonly deployment: string;
  readonly settings: DeploymentSettings;
}

/**
 * How JAWS starts a site's services (`deploy.sh <launch tool> ...` in JAWS's CI): supervisord
 * on a service node, supervisord inside a Slurm job that scrontab resubmits (NERSC: the Slurm
 * launcher), or `systemctl --user` units (Dori). jaws-deploy deploys the first two.
 */
export type LaunchTool = "supervisor" | "scrontab" | "systemd";

/** A JAWS site: one service host and the supervisord instances on it. Data, not code. */
export interface SiteDefinition {
  readonly name: string;
  /**
   * The service host.
   * @default - none: the operator names it (JAWS_HOST_<SITE>), or the site is refused
   */
  readonly host?: string;
  /** @default 22 */
  readonly port?: number;
  /**
   * The host's pinned SSH key (`ssh-ed25519 AAAA...`).
   * @default - the entry of `sites/known_hosts` for `host`
   */
  readonly hostKey?: string;
  /** Shell lines that make Python usable on the host (`module load python`). */
  readonly shellPreamble?: readonly string[];
  /** @default python3 */
  readonly pythonCommand?: string;
  /** @default supervisor */
  readonly launch?: LaunchTool;
  readonly deployments: Readonly<Record<string, DeploymentSettings>>;
  readonly instances: readonly SiteInstance[];
}

const LAUNCHERS: Record<Exclude<LaunchTool, "supervisor" | "scrontab">, string> = {
  systemd: "systemctl --user units; a systemd launcher is not part of jaws-deploy",
};

/** Why jaws-deploy cannot deploy `site` (its launch tool), or undefined when it can. */
export function notDeployable(site: SiteDefinition): string | undefined {
  const launch = site.launch ?? "supervisor";
  if (launch === "supervisor" || launch === "scrontab") return undefined;
  return `site ${site.name} is launched by ${launch} (${LAUNCHERS[launch]}): jaws-deploy deploys supervisor-launched and Slurm-launched (scrontab) sites only`;
}

const siteVariable = (prefix: string, site: string) => `${prefix}_${site.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
/** The variable that may carry a site's host key (a CI variable): JAWS_HOST_KEY_CORI. */
export const hostKeyVariable = (site: string): string => siteVariable("JAWS_HOST_KEY", site);
/** The variable that may name a site's service host: JAWS_HOST_DEFIANT. */
export const hostVariable = (site: string): string => siteVariable("JAWS_HOST", site);

/** The pinned host key of `host` in a known_hosts file (sites/known_hosts by default). */
export function knownHostKey(host: string, file = join(__dirname, "known_hosts")): string | undefined {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [name, type, key] = line.trim().split(/\s+/);
    if (!line.startsWith("#") && name === host && type && key) return `${type} ${key}`;
  }
  return undefined;
}
