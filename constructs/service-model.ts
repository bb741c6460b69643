import { shlexSplit } from "./escape";
import { type AutoRestart, type ByteSize, CONTROL_CHARS, type SignalName } from "./values";

/** One `[program:x]` of an instance. Plain data; see JawsService for the construct. */
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
}

export interface ServiceModel {
  readonly path: string;
  readonly name: string;
  /** undefined when a string command could not be split or has control characters (validation reports it). */
  readonly argv: readonly string[] | undefined;
  readonly oneShot: boolean;
  readonly processName: string;
  readonly numprocs: number;
  readonly numprocsStart: number;
  readonly priority: number;
  readonly autostart: boolean;
  readonly startsecs: number;
  readonly startretries: number;
  readonly autorestart: AutoRestart;
  readonly exitcodes: readonly number[];
  readonly stopsignal: SignalName | number;
  readonly stopwaitsecs: number;
  readonly stopasgroup: boolean;
  readonly killasgroup: boolean;
  readonly redirectStderr: boolean;
  readonly stdoutLogfile: string;
  readonly stdoutLogfileMaxbytes: ByteSize;
  readonly stdoutLogfileBackups: number;
  readonly stderrLogfile: string;
  readonly stderrLogfileMaxbytes: ByteSize;
  readonly stderrLogfileBackups: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly directory?: string;
  readonly umask?: string;
  readonly useWrapper: boolean;
  /** Path of the wrapper script on the host (used when useWrapper). */
  readonly wrapperFile: string;
  readonly locale: string;
  readonly venv?: string;
}

/** Applies the defaults; `instanceDir` is where logs and wrappers go. Does not validate. */
export function resolveService(o: JawsServiceOptions, name: string, instanceDir: string, path: string): ServiceModel {
  const numprocs = o.numprocs ?? 1;
  const oneShot = o.oneShot ?? false;
  const logBase = numprocs > 1 ? `${instanceDir}/log/%(program_name)s_%(process_num)02d` : `${instanceDir}/log/${name}`;
  return {
    path,
    name,
    // A command line is one line: a control character in it has no meaning supervisord could keep.
    argv: typeof o.command === "string" ? (CONTROL_CHARS.test(o.command) ? undefined : shlexSplit(o.command)) : [...o.command],
    oneShot,
    processName: o.processName ?? (numprocs > 1 ? "%(program_name)s_%(process_num)02d" : "%(program_name)s"),
    numprocs,
    numprocsStart: o.numprocsStart ?? 0,
    priority: o.priority ?? 999,
    autostart: o.autostart ?? true,
    startsecs: o.startsecs ?? (oneShot ? 0 : 3),
    startretries: o.startretries ?? (oneShot ? 0 : 3),
    autorestart: o.autorestart ?? (oneShot ? false : "unexpected"),
    exitcodes: o.exitcodes ?? [0],
    stopsignal: o.stopsignal ?? "TERM",
    stopwaitsecs: o.stopwaitsecs ?? 10,
    stopasgroup: o.stopasgroup ?? true,
    killasgroup: o.killasgroup ?? true,
    redirectStderr: o.redirectStderr ?? false,
    stdoutLogfile: o.stdoutLogfile ?? `${logBase}.out.log`,
    stdoutLogfileMaxbytes: o.stdoutLogfileMaxbytes ?? "50MB",
    stdoutLogfileBackups: o.stdoutLogfileBackups ?? 2,
    stderrLogfile: o.stderrLogfile ?? (o.redirectStderr ? "NONE" : `${logBase}.err.log`),
    stderrLogfileMaxbytes: o.stderrLogfileMaxbytes ?? "50MB",
    stderrLogfileBackups: o.stderrLogfileBackups ?? 2,
    environment: o.environment ?? {},
    directory: o.directory,
    umask: o.umask,
    useWrapper: o.useWrapper ?? true,
    wrapperFile: `${instanceDir}/bin/${name}.sh`,
    locale: o.locale ?? "en_US.UTF-8",
    venv: o.venv,
  };
}
