import { Construct } from "constructs";
import type { ConfigFile } from "./config-file";
import type { HealthCheck } from "./health-check";
import { resolveService } from "./model/service";
import type { AutoRestart, ByteSize, SignalName } from "./model/values";
import type { PythonRelease } from "./python-release";
import type { SupervisorInstance } from "./supervisor-instance";

/** A program of an instance, without the instance: what a site definition lists per program. */
export interface JawsServiceOptions {
  /**
   * Program name in supervisord (`[program:<name>]`).
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * The command: an argv (preferred) or a command line split the way supervisord
   * splits it (POSIX shell words, no shell: `;`, `|`, `$X` are plain characters).
   */
  readonly command: string | readonly string[];
  /**
   * A one-shot program (a deploy step): runs once at start and exits.
   * Sets startsecs 0, startretries 0, autorestart false; the health gate wants
   * it to have exited with one of `exitcodes` (or to be still running).
   * @default false
   */
  readonly oneShot?: boolean;
  /** @default %(program_name)s, or %(program_name)s_%(process_num)02d when numprocs > 1 */
  readonly processName?: string;
  /** @default 1 */
  readonly numprocs?: number;
  /** @default 0 */
  readonly numprocsStart?: number;
  /** Lower starts first and stops last. @default 999 */
  readonly priority?: number;
  /** @default true */
  readonly autostart?: boolean;
  /** Seconds a process must stay up to count as started. @default 3 (0 for oneShot) */
  readonly startsecs?: number;
  /** @default 3 (0 for oneShot) */
  readonly startretries?: number;
  /** @default unexpected (false for oneShot) */
  readonly autorestart?: AutoRestart;
  /** Expected exit codes. @default [0] */
  readonly exitcodes?: readonly number[];
  /** @default TERM */
  readonly stopsignal?: SignalName | number;
  /** Seconds between the stop signal and SIGKILL. @default 10 */
  readonly stopwaitsecs?: number;
  /** Send the stop signal to the whole process group (no orphans). @default true */
  readonly stopasgroup?: boolean;
  /** Send SIGKILL to the whole process group. @default true */
  readonly killasgroup?: boolean;
  /** @default false */
  readonly redirectStderr?: boolean;
  /** Absolute path or NONE. @default <instance dir>/log/<name>.out.log */
  readonly stdoutLogfile?: string;
  /** @default 50MB */
  readonly stdoutLogfileMaxbytes?: ByteSize;
  /** @default 2 */
  readonly stdoutLogfileBackups?: number;
  /** Absolute path or NONE. @default <instance dir>/log/<name>.err.log */
  readonly stderrLogfile?: string;
  /** @default 50MB */
  readonly stderrLogfileMaxbytes?: ByteSize;
  /** @default 2 */
  readonly stderrLogfileBackups?: number;
  /**
   * Environment of the program. With the wrapper (default) it is exported by
   * the wrapper script, where any value but NUL/newline is exact; without it,
   * it is written to `environment=`, where quotes and backslashes are rejected.
   * @default - none (plus the wrapper's locale)
   */
  readonly environment?: Readonly<Record<string, string>>;
  /** Working directory. @default - supervisord's directory */
  readonly directory?: string;
  /** Octal umask. @default - supervisord's */
  readonly umask?: string;
  /**
   * Run the command through a generated wrapper script (the JAWS "shim") that
   * exports the environment and locale, activates `venv` and `exec`s the command.
   * A change of the wrapper restarts exactly this program.
   * @default true
   */
  readonly useWrapper?: boolean;
  /**
   * Locale exported by the wrapper (LANG, LC_ALL); PYTHONIOENCODING is utf-8.
   * @default en_US.UTF-8
   */
  readonly locale?: string;
  /**
   * Python venv the wrapper activates (puts `<venv>/bin` first on PATH).
   * @default - none
   */
  readonly venv?: string;
  /**
   * Run the wrapper as a login shell (`#!/bin/bash -l`), so the user's profile runs first and
   * `module` works, as JAWS's shims did.
   * @default false
   */
  readonly loginShell?: boolean;
  /**
   * Shell lines the wrapper runs before it execs the program (the site's `module load ...`).
   * Operator code, run as written.
   * @default - none
   */
  readonly shellPreamble?: readonly string[];
  /**
   * A probe that proves the program serves: a TCP connect, an HTTP GET or a command in the
   * program's environment, run on the host. The deploy's health gate waits for RUNNING and a
   * passing probe (a failing one rolls the deploy back); the status command shows its result and
   * age. A change of the probe restarts this program (it is part of the program's fingerprint).
   * @default - none: RUNNING is healthy
   */
  readonly healthCheck?: HealthCheck;
  /**
   * The ensure script restarts the program once its probe has failed this many times in a row
   * (one probe per ensure run), with a back-off between restarts (the probe's interval times 2,
   * 4, 8... up to an hour; it ends when the probe passes 10 minutes after the last restart); each
   * failure, restart and held-back restart is logged in `log/probes.log`. Needs `healthCheck`.
   * @default - never restarted for a failing probe
   */
  readonly restartOnProbeFailures?: number;
  /**
   * The release the program runs with: its wrapper activates the release's venv
   * (`releases/<package>/current`, instead of `venv`), and a new version restarts it.
   * @default - none
   */
  readonly release?: PythonRelease;
  /**
   * Config files the program reads: it restarts when one of them changes (a plain value or a
   * secret), and only then.
   * @default - none
   */
  readonly configFiles?: readonly ConfigFile[];
}

export interface JawsServiceProps extends JawsServiceOptions {
  /** The supervisord instance that runs this service. */
  readonly instance: SupervisorInstance;
}

/** One program (`[program:x]`) run by a SupervisorInstance, in the instance's group. */
export class JawsService extends Construct {
  /** Program name in supervisord. */
  readonly programName: string;

  constructor(scope: Construct, id: string, props: JawsServiceProps) {
    super(scope, id);
    this.programName = props.name ?? id;
    const { instance, ...options } = props;
    instance.addService(resolveService(options, this.programName, instance.directory, this.node.path));
  }
}
