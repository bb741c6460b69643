import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { JawsServiceOptions, SupervisorInstanceProps } from "../constructs";

/** What differs per deployment of a site (dev, staging, prod side by side on one host). */
export interface DeploymentSettings {
  /** Where the JAWS software of this deployment is installed on the host. */
  readonly installDirectory: string;
  /** Cromwell's REST port. */
  readonly cromwellPort: number;
  /**
   * supervisord HTTP ports of the JAWS port table, per instance name; used by
   * instances whose control endpoint is `inet` (bound to 127.0.0.1).
   */
  readonly supervisordPorts: Readonly<Record<string, number>>;
}

/** One supervisord instance of a site: who runs it and which programs. */
export interface SiteInstance {
  /** `jaws` or `jtm`: also the stack name prefix (`jaws-<site>`). */
  readonly name: string;
  readonly user: string;
  /** Directory under which `<name>-<deployment>` is made; must be writable by `user`. */
  readonly baseDirectory: string;
  /** Programs of this instance for one deployment. */
  readonly services: (d: DeploymentContext) => Readonly<Record<string, JawsServiceOptions>>;
  /**
   * supervisorctl endpoint: a unix socket (mode 0700) or inet_http_server on
   * 127.0.0.1 at the deployment's port from the port table.
   * @default unix
   */
  readonly control?: "unix" | "inet";
  /**
   * Any other SupervisorInstance prop (pythonCommand, minfds, privateKeyFile...).
   * @default - none
   */
  readonly options?: Partial<SupervisorInstanceProps>;
}

export interface DeploymentContext {
  readonly site: string;
  readonly deployment: string;
  readonly settings: DeploymentSettings;
}

/** A JAWS site: one service host and the supervisord instances on it. Data, not code. */
export interface SiteDefinition {
  readonly name: string;
  readonly host: string;
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
  readonly deployments: Readonly<Record<string, DeploymentSettings>>;
  readonly instances: readonly SiteInstance[];
}

/** The pinned host key of `host` in a known_hosts file (sites/known_hosts by default). */
export function knownHostKey(host: string, file = join(__dirname, "known_hosts")): string | undefined {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [name, type, key] = line.trim().split(/\s+/);
    if (!line.startsWith("#") && name === host && type && key) return `${type} ${key}`;
  }
  return undefined;
}
