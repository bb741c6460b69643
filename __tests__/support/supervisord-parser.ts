/**
 * Bridge from TypeScript tests to supervisor's REAL config parser.
 *
 * Runs `parse_supervisord_config.py` under Debian's /usr/bin/python3 (the `python3` first on
 * PATH does not see Debian's supervisor package). The script calls
 * `ServerOptions.realize(["-c", file])` exactly like supervisord's start-up, then
 * `ClientOptions.realize(["-c", file])` like supervisorctl, and prints JSON. Nothing is
 * started: no daemon, pidfile, socket or log file is created.
 *
 * Things the parser resolves against the machine it runs on (make fixtures hermetic):
 * - directories that must exist: [supervisord] directory/childlogdir, parent dir of
 *   [supervisord] logfile/pidfile and of [program:x] stdout_logfile/stderr_logfile
 *   (write them as `%(here)s/...`: `here` is the temp dir the config is written to);
 * - relative logfile/pidfile paths resolve against the parser's cwd (the config's directory; for
 *   parseSupervisordConfigs the batch's temp dir) and the default childlogdir is the temp dir;
 * - `user=`/`chown=` must name existing users/groups; `%(ENV_X)s` reads `opts.env`
 *   (default: process.env); `%(host_node_name)s` is this host's name.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

/** Interpreter that has Debian's supervisor package (override: JAWS_SUPERVISOR_PYTHON). */
export const SUPERVISOR_PYTHON = process.env.JAWS_SUPERVISOR_PYTHON ?? "/usr/bin/python3";
const PARSER_SCRIPT = resolve(__dirname, "parse_supervisord_config.py");

/** Octal text, 4 digits: "0022", "0700". */
export type OctalString = string;

export interface ParsedSupervisord {
  /** Absolute path (relative values resolved against the parser's cwd) or "syslog". */
  logfile: string;
  logfile_maxbytes: number;
  logfile_backups: number;
  /** "critical" | "error" | "warn" | "info" | "debug" | "trace" | "blather" */
  loglevel: string;
  pidfile: string;
  nodaemon: boolean;
  silent: boolean;
  minfds: number;
  minprocs: number;
  umask: OctalString;
  user: string | null;
  identifier: string;
  directory: string | null;
  childlogdir: string;
  nocleanup: boolean;
  strip_ansi: boolean;
  environment: Record<string, string>;
}

interface ParsedHttpServerBase {
  /** Section name, e.g. "unix_http_server" (supervisor matches these sections by PREFIX). */
  section: string;
  username: string | null;
  password_set: boolean;
  /** password starts with "{SHA}" */
  password_hashed: boolean;
}

export interface ParsedUnixHttpServer extends ParsedHttpServerBase {
  kind: "unix";
  file: string;
  chmod: OctalString;
  /** null when not set (supervisor's (-1, -1)) */
  chown: { uid: number; gid: number } | null;
}

export interface ParsedInetHttpServer extends ParsedHttpServerBase {
  kind: "inet";
  /** "" means all interfaces (also for `*:port` and bare `port`) */
  host: string;
  port: number;
}

export interface ParsedCtl {
  serverurl: string;
  username: string | null;
  password_set: boolean;
  prompt: string;
  history_file: string | null;
}

export interface ParsedGroup {
  name: string;
  kind: "program" | "eventlistener" | "fcgi-program";
  priority: number;
  /** expanded process names */
  programs: string[];
}

export interface ParsedProgram {
  /** program name from the section header ([program:NAME]) */
  name: string;
  kind: "program" | "eventlistener" | "fcgi-program";
  /** group the process belongs to: the [group:x] listing it, else its own program name */
  group: string;
  command: string;
  /** expanded process_name (one entry per process when numprocs > 1) */
  process_name: string;
  numprocs: number;
  priority: number;
  autostart: boolean;
  autorestart: "true" | "false" | "unexpected";
  startsecs: number;
  startretries: number;
  exitcodes: number[];
  /** "SIGTERM"; "signal 0" for 0 */
  stopsignal: string;
  stopsignal_number: number;
  stopwaitsecs: number;
  stopasgroup: boolean;
  killasgroup: boolean;
  redirect_stderr: boolean;
  /** path, "AUTO", or null for NONE/OFF (and for stderr when redirect_stderr) */
  stdout_logfile: string | null;
  stdout_logfile_maxbytes: number;
  stdout_logfile_backups: number;
  stdout_syslog: boolean;
  stderr_logfile: string | null;
  stderr_logfile_maxbytes: number;
  stderr_logfile_backups: number;
  stderr_syslog: boolean;
  /** program environment merged over [supervisord] environment (what the child gets on top of supervisord's own) */
  environment: Record<string, string>;
  /** NOT checked for existence by supervisor at parse time */
  directory: string | null;
  umask: OctalString | null;
  /** resolved user name (user= must exist) */
  user: string | null;
  uid: number | null;
  serverurl: string | null;
}

export interface ParsedConfig {
  ok: true;
  /** supervisor version that parsed it, e.g. "4.2.5" */
  version: string;
  /** supervisor's parse warnings, plus "supervisorctl: ..." when [supervisorctl] is missing */
  warnings: string[];
  supervisord: ParsedSupervisord;
  server: {
    unix: ParsedUnixHttpServer | null;
    inet: ParsedInetHttpServer | null;
    all: Array<ParsedUnixHttpServer | ParsedInetHttpServer>;
  };
  /** null when there is no [supervisorctl] section (supervisorctl -c FILE would refuse it) */
  ctl: ParsedCtl | null;
  /** names of [rpcinterface:NAME] sections whose factory resolved */
  rpcinterfaces: string[];
  groups: ParsedGroup[];
  /** one entry per process config (numprocs expanded), with its group */
  programs: ParsedProgram[];
}

export interface ParseFailure {
  ok: false;
  /** supervisor's message (passwords redacted) */
  error: string;
}

export type ParseOutcome = ParsedConfig | ParseFailure;

export interface ParseOptions {
  /**
   * Write the text to this path instead of a fresh temp dir (so `%(here)s` and relative
   * `[include]` globs resolve next to it). The file is left in place.
   */
  file?: string;
  /** environment the parser sees, i.e. supervisord's environment for `%(ENV_X)s`; default process.env */
  env?: NodeJS.ProcessEnv;
  /** default 30 s (+1 s per config for parseSupervisordConfigs) */
  timeoutMs?: number;
}

/** Thrown by parseSupervisordConfig when supervisor rejects the config. */
export class SupervisordConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SupervisordConfigError";
  }
}

function runParser(args: string[], cwd: string, opts: ParseOptions, timeoutMs: number): unknown {
  const res = spawnSync(SUPERVISOR_PYTHON, ["-s", PARSER_SCRIPT, ...args], {
    cwd,
    env: opts.env ?? process.env,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) {
    throw new Error(`cannot run ${SUPERVISOR_PYTHON} ${PARSER_SCRIPT}: ${res.error.message}`);
  }
  try {
    return JSON.parse(res.stdout);
  } catch {
    throw new Error(`supervisord parser gave no JSON (exit ${res.status}, signal ${res.signal}): ${res.stderr || res.stdout}`);
  }
}

/** Parse one config text with the real supervisord parser; throws SupervisordConfigError if rejected. */
export function parseSupervisordConfig(text: string, opts: ParseOptions = {}): ParsedConfig {
  const tmp = opts.file ? undefined : mkdtempSync(join(tmpdir(), "supervisord-parse-"));
  const file = opts.file ? resolve(opts.file) : join(tmp as string, "supervisord.conf");
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    const out = runParser([file], dirname(file), opts, opts.timeoutMs ?? 30_000) as ParseOutcome;
    if (!out.ok) throw new SupervisordConfigError(out.error);
    return out;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Parse many configs in ONE python process. Each text gets its own directory (`%(here)s`).
 * Returns one outcome per input, in order; never throws for a rejected config (only when the
 * parser cannot run).
 */
export function parseSupervisordConfigs(texts: string[], opts: Omit<ParseOptions, "file"> = {}): ParseOutcome[] {
  if (texts.length === 0) return [];
  const tmp = mkdtempSync(join(tmpdir(), "supervisord-parse-"));
  try {
    const files = texts.map((text, i) => {
      const path = join(tmp, String(i), "supervisord.conf");
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    });
    const out = runParser(["--many", ...files], tmp, opts, opts.timeoutMs ?? 30_000 + 1_000 * files.length);
    if (!Array.isArray(out) || out.length !== files.length) {
      throw new Error(`supervisord parser returned ${JSON.stringify(out).slice(0, 500)}`);
    }
    return out as ParseOutcome[];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

let availability: { reason: string | undefined } | undefined;

/** undefined when the real parser can run, else why not. */
function parserMissingReason(): string | undefined {
  if (!availability) {
    let reason: string | undefined;
    try {
      const out = runParser(["--version"], tmpdir(), {}, 30_000) as {
        ok?: boolean;
        version?: string;
      };
      if (!out.ok || !out.version) reason = `unexpected answer: ${JSON.stringify(out)}`;
    } catch (e) {
      reason = `${SUPERVISOR_PYTHON} cannot import supervisor: ${(e as Error).message}`;
    }
    availability = { reason };
  }
  return availability.reason;
}

/**
 * Call first (in a `beforeAll`) in every suite that loads configs with the real parser: throws,
 * naming what to install, when it cannot run. Never a skip: the unit tier requires the parser
 * (README, Tests), so a machine without it fails, under CI=true as anywhere else.
 */
export function requireSupervisordParser(): void {
  const reason = parserMissingReason();
  if (reason === undefined) return;
  throw new Error(
    `supervisord's real config parser cannot run: ${reason}\n` +
      `Install Debian's supervisor package for ${SUPERVISOR_PYTHON} (apt-get install supervisor), ` +
      "or set JAWS_SUPERVISOR_PYTHON to a python3 that can `import supervisor`.",
  );
}
