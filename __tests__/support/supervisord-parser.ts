/**
 * Loads configs with supervisor's REAL parser (Debian's 4.2.5): parse_supervisord_config.py, run by
 * SUPERVISOR_PYTHON (the `python3` first on PATH lacks the package). Nothing is started.
 * The parser checks the machine it runs on: [supervisord] directory/childlogdir and the parent dirs of
 * log and pid files must exist (write them as `%(here)s/...`, the config's own directory), user= and
 * chown= must name existing users, `%(ENV_X)s` reads the environment given (default: process.env).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Interpreter that has Debian's supervisor package (override: JAWS_SUPERVISOR_PYTHON). */
export const SUPERVISOR_PYTHON = process.env.JAWS_SUPERVISOR_PYTHON ?? "/usr/bin/python3";

// What the script prints for an accepted config: only the fields tests read (names as in supervisor).
type Server = { section: string; username: string | null; password_set: boolean };
type Program = Record<"name" | "process_name" | "group" | "command" | "stopsignal", string> &
  Record<"numprocs" | "priority" | "startsecs" | "startretries" | "stdout_logfile_maxbytes" | "stdout_logfile_backups", number> &
  Record<"autostart" | "stopasgroup" | "killasgroup" | "redirect_stderr", boolean> &
  Record<"stdout_logfile" | "directory" | "umask" | "user", string | null> & {
    autorestart: "true" | "false" | "unexpected";
    exitcodes: number[];
    environment: Record<string, string>;
    uid: number | null;
  };
export type ParsedConfig = {
  ok: true;
  version: string;
  /** supervisor's parse warnings, plus "supervisorctl: ..." when [supervisorctl] is missing (then ctl is null) */
  warnings: string[];
  supervisord: Record<"logfile" | "loglevel" | "umask" | "identifier", string> &
    Record<"logfile_maxbytes" | "logfile_backups" | "minfds", number> & { environment: Record<string, string> };
  /** the first server section of each kind */
  server: {
    unix: (Server & { file: string; chmod: string; chown: [number, number] | null }) | null;
    inet: (Server & { host: string; port: number }) | null;
  };
  ctl: { serverurl: string; username: string | null; password_set: boolean } | null;
  rpcinterfaces: string[];
  groups: { name: string; kind: string; priority: number; programs: string[] }[];
  /** one per process (numprocs expanded) */
  programs: Program[];
};
export type ParseOutcome = ParsedConfig | { ok: false; error: string };

/** supervisor rejected the config; the message is its own (passwords redacted). */
export class SupervisordConfigError extends Error {
  name = "SupervisordConfigError";
}

/** One python process for all `files`: one outcome each, in order. Throws only when the parser cannot run. */
function run(files: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): ParseOutcome[] {
  const script = join(__dirname, "parse_supervisord_config.py");
  const r = spawnSync(SUPERVISOR_PYTHON, ["-s", script, ...files], {
    cwd,
    env,
    encoding: "utf8",
    timeout: 30_000 + 1_000 * files.length,
    maxBuffer: 64 << 20,
  });
  let out: unknown;
  try {
    out = JSON.parse(r.stdout);
  } catch {} // no JSON: reported below
  if (Array.isArray(out) && out.length === files.length) return out;
  throw new Error(`${SUPERVISOR_PYTHON} ${script} failed (exit ${r.status}, ${r.error?.message ?? r.signal}): ${r.stderr}`);
}

function write(file: string, text: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/**
 * Parses many configs in ONE python process, each in its own directory (`%(here)s`, also the cwd relative
 * paths resolve against), and returns one outcome per text, in order: a rejected config does not throw.
 */
export function parseSupervisordConfigs(texts: string[], env?: NodeJS.ProcessEnv): ParseOutcome[] {
  const tmp = mkdtempSync(join(tmpdir(), "supervisord-parse-"));
  try {
    return run(
      texts.map((text, i) => write(join(tmp, String(i), "supervisord.conf"), text)),
      tmp,
      env,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Parses config files already in place (their directories as the host has them), in ONE python process. */
export function parseSupervisordFiles(files: string[], env?: NodeJS.ProcessEnv): ParseOutcome[] {
  return run(files, tmpdir(), env);
}

/**
 * Parses one config; throws SupervisordConfigError when supervisor rejects it. `file`: write it there
 * (left in place) instead of a temp dir, so that `%(here)s` and relative includes resolve next to it.
 */
export function parseSupervisordConfig(text: string, opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): ParsedConfig {
  const [out] = opts.file ? run([write(opts.file, text)], dirname(opts.file), opts.env) : parseSupervisordConfigs([text], opts.env);
  if (!out.ok) throw new SupervisordConfigError(out.error);
  return out;
}

/**
 * Call first (in a `beforeAll`) in every suite that loads configs with the real parser. Throws, naming what
 * to install, when it cannot run: never a skip, the unit tier requires the parser (README, Tests).
 */
export function requireSupervisordParser(): void {
  try {
    run([], tmpdir());
  } catch (e) {
    throw new Error(
      `supervisord's real config parser cannot run: ${(e as Error).message}\n` +
        `Install Debian's supervisor package for ${SUPERVISOR_PYTHON} (apt-get install supervisor), ` +
        "or set JAWS_SUPERVISOR_PYTHON to a python3 that can `import supervisor`.",
    );
  }
}
