/**
 * A program's health probe (`JawsServiceOptions.healthCheck`): what proves that the program
 * serves, not only that supervisord says RUNNING. Run on the host by the instance's own runtime
 * (jawsctl, templates/jawsctl/probes.py): by the deploy's health gate, by the status command and by
 * the ensure script. No port is opened for it.
 */

/** When and how often a probe runs, and what counts. */
export interface HealthCheckTiming {
  /**
   * Seconds between two runs of the probe (in the health gate, and the least age before the
   * status command runs it again; ensure runs it once per run).
   * @default 5
   */
  readonly intervalSeconds?: number;
  /** Seconds one run may take before it counts as a failure. @default 3 */
  readonly timeoutSeconds?: number;
  /** Passing runs in a row that make the program healthy (the health gate waits for them). @default 1 */
  readonly successes?: number;
  /** Failing runs in a row that make a running program unhealthy (status says FAILING). @default 3 */
  readonly failures?: number;
}

/** A TCP connect from the host to a port of the program. */
export interface TcpHealthCheck extends HealthCheckTiming {
  /** The port that must accept a connection. */
  readonly tcp: number;
  /** The address connected to, from the host itself. @default 127.0.0.1 */
  readonly host?: string;
}

/** An HTTP GET from the host, expecting a status and optionally a text in the body. */
export interface HttpHealthCheck extends HealthCheckTiming {
  /** The URL (http or https; no proxy is used). */
  readonly http: string;
  /** The status codes that pass. @default - any 2xx */
  readonly expectStatus?: number | readonly number[];
  /** Text the response body must contain (compared as written, not a pattern). @default - any body */
  readonly bodyMatch?: string;
}

/**
 * A command that must exit 0, run in the program's environment: through a wrapper rendered like
 * the program's own (`bin/<name>@probe.sh`: its locale, environment, venv and preamble), with the
 * argv as declared (no shell; each argument exact) and in the program's `directory`.
 */
export interface CommandHealthCheck extends HealthCheckTiming {
  /** The argv, e.g. `["jaws-site", "--config", "/etc/jaws.conf", "ping"]`. */
  readonly command: readonly string[];
}

/** One of: `{ tcp: port }`, `{ http: url, expectStatus?, bodyMatch? }`, `{ command: argv }`, with the timing. */
export type HealthCheck = TcpHealthCheck | HttpHealthCheck | CommandHealthCheck;
