import type { JawsServiceOptions } from "../jaws-service";
import { shlexSplit } from "../render/escape";
import { CONTROL_CHARS } from "../render/syntax";
import type { Problem } from "../rules/problem";
import { normalisePath, tokenProblems } from "./input";
import { type ProbeModel, resolveProbe } from "./probe";
import type { AutoRestart, ByteSize, SignalName } from "./values";

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
  readonly loginShell: boolean;
  readonly shellPreamble: readonly string[];
  /** The health probe, if any. */
  readonly probe?: ProbeModel;
  /** Failing probes in a row after which ensure restarts the program (undefined: never). */
  readonly restartOnProbeFailures?: number;
  /** The release the program runs with (its venv is the release's `current`). */
  readonly release?: { readonly package: string; readonly version: string; readonly venv: string };
  /** Absolute host paths of the config files the program reads. */
  readonly configFiles: readonly string[];
  /** Problems of the raw props found before any rule (cdktf tokens). */
  readonly inputProblems: readonly Problem[];
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
    stdoutLogfile: normalisePath(o.stdoutLogfile) ?? `${logBase}.out.log`,
    stdoutLogfileMaxbytes: o.stdoutLogfileMaxbytes ?? "50MB",
    stdoutLogfileBackups: o.stdoutLogfileBackups ?? 2,
    stderrLogfile: normalisePath(o.stderrLogfile) ?? (o.redirectStderr ? "NONE" : `${logBase}.err.log`),
    stderrLogfileMaxbytes: o.stderrLogfileMaxbytes ?? "50MB",
    stderrLogfileBackups: o.stderrLogfileBackups ?? 2,
    environment: o.environment ?? {},
    directory: normalisePath(o.directory),
    umask: o.umask,
    useWrapper: o.useWrapper ?? true,
    wrapperFile: `${instanceDir}/bin/${name}.sh`,
    locale: o.locale ?? "en_US.UTF-8",
    venv: normalisePath(o.venv) ?? o.release?.venvDirectory,
    release: o.release && { package: o.release.package, version: o.release.version, venv: o.release.venvDirectory },
    configFiles: (o.configFiles ?? []).map((f) => f.path),
    loginShell: o.loginShell ?? false,
    shellPreamble: o.shellPreamble ?? [],
    probe: resolveProbe(o.healthCheck),
    restartOnProbeFailures: o.restartOnProbeFailures,
    inputProblems: [
      ...tokenProblems(o, path),
      ...(o.venv !== undefined && o.release !== undefined
        ? [{ path, field: "venv", message: "a program runs with its release's venv or with `venv`, not both: drop `venv`" }]
        : []),
    ],
  };
}
