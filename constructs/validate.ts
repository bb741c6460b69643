import { hasSupervisorExpansion } from "./escape";
import type { InstanceModel } from "./instance-model";
import type { ServiceModel } from "./service-model";
import { CONTROL_CHARS, LOG_LEVELS, normaliseSignal, parseByteSize } from "./values";

/** One thing wrong with the model: where (construct path), which field, and why. */
export interface Problem {
  readonly path: string;
  readonly field: string;
  readonly message: string;
}

/** A model that cannot be rendered safely; lists every problem at once. */
export class ValidationError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(`Invalid supervisord model:\n${problems.map(formatProblem).join("\n")}`);
    this.name = "ValidationError";
  }
}

export function formatProblem(p: Problem): string {
  return `[${p.path}] ${p.field}: ${p.message}`;
}

// Names end up in section headers, file names and supervisorctl arguments.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// A conservative path alphabet: no whitespace, quotes, `;`, `#`, `$` or `%`.
const PATH = /^\/[A-Za-z0-9_@+=:,./-]*$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OCTAL_UMASK = /^0?[0-7]{3}$/;
const TEMP_DIRS = ["/tmp", "/var/tmp", "/dev/shm"];
const UNIX_SOCKET_MAX = 107;
const HOST_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]*\$?$/;
const VERSION = /^\d+(\.\d+){0,3}$/;
const URL = /^https?:\/\/[A-Za-z0-9_@%+=:,./?&~-]+$/;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** Collects problems of one model object under one construct path. */
class Checker {
  readonly problems: Problem[] = [];
  constructor(private readonly path: string) {}

  fail(field: string, message: string): void {
    this.problems.push({ path: this.path, field, message });
  }

  check(ok: boolean, field: string, message: string): void {
    if (!ok) this.fail(field, message);
  }

  name(field: string, value: string, what = "a name"): void {
    this.check(
      NAME.test(value),
      field,
      `${describe(value)} is not ${what} supervisord accepts: use letters, digits, '_', '.', '-' (no whitespace, ':' or '/')`,
    );
  }

  int(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
    this.check(
      Number.isInteger(value) && value >= min && value <= max,
      field,
      `${value} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`,
    );
  }

  path_(field: string, value: string, opts: { allowNone?: boolean } = {}): void {
    if (opts.allowNone && value === "NONE") return;
    if (!PATH.test(value)) {
      this.fail(
        field,
        `${describe(value)} must be an absolute path of letters, digits and _@+=:,./- (no spaces, quotes, '$', '%' or control characters)`,
      );
    } else if (value.split("/").some((s) => s === "..")) {
      this.fail(field, `${describe(value)} must not contain '..'`);
    }
  }

  byteSize(field: string, value: string | number): void {
    this.check(
      parseByteSize(value) !== undefined,
      field,
      `${describe(String(value))} is not a byte size (an integer, optionally with KB, MB or GB)`,
    );
  }

  umask(field: string, value: string | undefined): void {
    if (value !== undefined) this.check(OCTAL_UMASK.test(value), field, `${describe(value)} is not an octal umask like 022`);
  }

  /** supervisord's environment= subset: values are double-quoted by legacy shlex and mangled otherwise. */
  supervisorEnvironment(field: string, env: Readonly<Record<string, string>>): void {
    for (const [k, v] of Object.entries(env)) {
      this.check(ENV_KEY.test(k), `${field}.${k}`, `${describe(k)} is not a valid environment variable name`);
      if (/["'\\]/.test(v) || CONTROL_CHARS.test(v) || v.includes("\t") || /\s[;#]/.test(v)) {
        this.fail(
          `${field}.${k}`,
          "quotes, backslashes, control characters and ' ;'/' #' cannot pass through supervisord's environment= (4.2 mangles or cuts them); use the service's wrapper (useWrapper) instead",
        );
      }
    }
  }

  /** Wrapper scripts export values single-quoted: anything but NUL and newline is exact. */
  wrapperEnvironment(field: string, env: Readonly<Record<string, string>>): void {
    for (const [k, v] of Object.entries(env)) {
      this.check(ENV_KEY.test(k), `${field}.${k}`, `${describe(k)} is not a valid environment variable name`);
      this.check(!CONTROL_CHARS.test(v), `${field}.${k}`, "a control character (newline, NUL...) cannot be exported safely");
    }
  }

  text(field: string, value: string, what: string): void {
    this.check(!CONTROL_CHARS.test(value), field, `${what} must not contain control characters (newline, NUL...)`);
    this.check(
      !/\s[;#]/.test(value),
      field,
      `${what} must not contain whitespace followed by ';' or '#': supervisord would cut the value there`,
    );
  }
}

/** Shows a user value in an error without letting it break the message. */
function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

function looksLikeKeyMaterial(value: string): boolean {
  return /PRIVATE KEY|BEGIN OPENSSH|\n/.test(value);
}

export function validateService(s: ServiceModel, instanceDir: string): Problem[] {
  const c = new Checker(s.path);
  c.name("name", s.name, "a program name");
  if (s.argv === undefined) {
    c.fail("command", "has an unterminated quote, a trailing backslash or a control character (newline, NUL...)");
  } else if (s.argv.length === 0 || s.argv[0] === "") {
    c.fail("command", "is empty: give the program to run and its arguments");
  } else {
    s.argv.forEach((arg, i) => {
      c.check(!CONTROL_CHARS.test(arg), `command[${i}]`, "contains a control character (newline, NUL...): supervisord cannot represent it");
    });
  }
  c.int("numprocs", s.numprocs, 1, 1000);
  c.int("numprocsStart", s.numprocsStart, 0);
  c.text("processName", s.processName, "processName");
  c.check(
    !/[\s:/]/.test(s.processName.replace(/%\([a-z_]+\)[-#0 +]*\d*[sd]/g, "x")),
    "processName",
    `${describe(s.processName)} must not contain whitespace, ':' or '/'`,
  );
  if (s.numprocs > 1) {
    c.check(
      hasSupervisorExpansion(s.processName, "process_num"),
      "processName",
      `numprocs is ${s.numprocs}: processName must contain %(process_num)d so every process gets its own name`,
    );
  }
  c.int("priority", s.priority, -999999, 999999);
  c.int("startsecs", s.startsecs, 0);
  c.int("startretries", s.startretries, 0);
  c.int("stopwaitsecs", s.stopwaitsecs, 0);
  c.check(
    s.autorestart === true || s.autorestart === false || s.autorestart === "unexpected",
    "autorestart",
    `${describe(String(s.autorestart))} must be true, false or "unexpected"`,
  );
  c.check(s.exitcodes.length > 0, "exitcodes", "must list at least one exit code");
  for (const code of s.exitcodes) c.int("exitcodes", code, 0, 255);
  c.check(
    normaliseSignal(s.stopsignal) !== undefined,
    "stopsignal",
    `${describe(String(s.stopsignal))} is not a signal supervisord knows (TERM, HUP, INT, QUIT, KILL, USR1, USR2 or a number 1-31)`,
  );
  c.check(
    !(s.stopasgroup && !s.killasgroup),
    "stopasgroup",
    "stopasgroup=true requires killasgroup=true (supervisord rejects the combination)",
  );
  for (const [field, file] of [
    ["stdoutLogfile", s.stdoutLogfile],
    ["stderrLogfile", s.stderrLogfile],
  ] as const) {
    if (file === "AUTO") {
      c.fail(field, "AUTO logs go to the temp dir and vanish on restart; give an absolute path or NONE");
    } else if (hasSupervisorExpansion(file)) {
      c.path_(field, file.replace(/%\([a-z_]+\)[-#0 +]*\d*[sd]/g, "x"), { allowNone: true });
    } else {
      c.path_(field, file, { allowNone: true });
    }
  }
  c.byteSize("stdoutLogfileMaxbytes", s.stdoutLogfileMaxbytes);
  c.byteSize("stderrLogfileMaxbytes", s.stderrLogfileMaxbytes);
  c.int("stdoutLogfileBackups", s.stdoutLogfileBackups, 0, 1000);
  c.int("stderrLogfileBackups", s.stderrLogfileBackups, 0, 1000);
  if (s.numprocs > 1 && !hasSupervisorExpansion(s.stdoutLogfile, "process_num") && s.stdoutLogfile !== "NONE") {
    c.fail("stdoutLogfile", "numprocs > 1: the log file must contain %(process_num)d, or processes overwrite each other's log");
  }
  if (s.redirectStderr && s.stderrLogfile !== "NONE") {
    c.fail("stderrLogfile", "is ignored when redirectStderr is true; leave it unset");
  }
  if (s.directory !== undefined) c.path_("directory", s.directory);
  c.umask("umask", s.umask);
  if (s.useWrapper) {
    c.wrapperEnvironment("environment", s.environment);
    c.check(/^[A-Za-z0-9_.@-]+$/.test(s.locale), "locale", `${describe(s.locale)} is not a locale name like en_US.UTF-8`);
    if (s.venv !== undefined) c.path_("venv", s.venv);
  } else {
    c.supervisorEnvironment("environment", s.environment);
    c.check(s.venv === undefined, "venv", "needs the wrapper script (useWrapper: true) to activate it");
  }
  if (!s.useWrapper && s.argv) {
    c.check(
      !hasSupervisorExpansion(s.argv.join(" "), "ENV_[A-Za-z_][A-Za-z0-9_]*"),
      "command",
      "%(ENV_...)s makes the config depend on supervisord's environment at parse time; pass values through environment instead",
    );
  }
  c.check(s.wrapperFile.startsWith(`${instanceDir}/`), "name", "wrapper path escapes the instance directory");
  return c.problems;
}

export function validateInstance(m: InstanceModel): Problem[] {
  const c = new Checker(m.path);
  c.name("name", m.name, "an instance name");
  c.check(/^[a-z0-9][a-z0-9-]*$/.test(m.deployment), "deployment", `${describe(m.deployment)} must be lowercase letters, digits and '-'`);
  // SSH
  c.check(HOSTNAME.test(m.ssh.host), "host", `${describe(m.ssh.host)} is not a host name or address`);
  c.int("port", m.ssh.port, 1, 65535);
  c.check(UNIX_USER.test(m.ssh.user), "user", `${describe(m.ssh.user)} is not a Unix user name`);
  if (m.ssh.hostKey === undefined) {
    c.check(
      m.ssh.insecureSkipHostKeyCheck,
      "hostKey",
      `is required to pin ${m.ssh.host}'s identity: run \`ssh-keyscan -p ${m.ssh.port} -t ed25519 ${m.ssh.host}\`, check the fingerprint with the site's admins, and set hostKey to the "ssh-ed25519 AAAA..." part (or set insecureSkipHostKeyCheck: true)`,
    );
  } else {
    c.check(
      HOST_KEY.test(m.ssh.hostKey),
      "hostKey",
      'must be "<type> <base64>", e.g. "ssh-ed25519 AAAAC3Nz..." (no host name, no comment)',
    );
  }
  for (const [field, file] of [
    ["privateKeyFile", m.ssh.privateKeyFile],
    ["certificateFile", m.ssh.certificateFile],
    ["bastionPrivateKeyFile", m.ssh.bastion?.privateKeyFile],
    ["bastionCertificateFile", m.ssh.bastion?.certificateFile],
  ] as const) {
    if (file === undefined) continue;
    if (looksLikeKeyMaterial(file)) {
      c.fail(field, "looks like key material, not a file path: give the path of the key file (the key itself must never be in code)");
    } else {
      c.check(
        /^(~\/|\/)?[A-Za-z0-9_@+=:,./-]+$/.test(file),
        field,
        "must be a file path (absolute, relative or starting with ~/) without spaces or quotes",
      );
    }
  }
  if (m.ssh.bastion) {
    const b = m.ssh.bastion;
    c.check(HOSTNAME.test(b.host), "bastionHost", `${describe(b.host)} is not a host name or address`);
    c.int("bastionPort", b.port, 1, 65535);
    c.check(UNIX_USER.test(b.user), "bastionUser", `${describe(b.user)} is not a Unix user name`);
    if (b.hostKey === undefined) {
      c.check(
        m.ssh.insecureSkipHostKeyCheck,
        "bastionHostKey",
        `is required to pin ${b.host}'s identity (ssh-keyscan -p ${b.port} ${b.host}), or set insecureSkipHostKeyCheck: true`,
      );
    } else {
      c.check(HOST_KEY.test(b.hostKey), "bastionHostKey", 'must be "<type> <base64>" (no host name, no comment)');
    }
  }
  // Files and Python
  c.path_("baseDirectory", m.baseDirectory);
  if (TEMP_DIRS.some((t) => m.baseDirectory === t || m.baseDirectory.startsWith(`${t}/`))) {
    c.fail(
      "baseDirectory",
      `${describe(m.baseDirectory)} is under a temporary directory that HPC hosts wipe (maintenance, tmpwatch); use project or home storage`,
    );
  }
  c.check(
    /^[A-Za-z0-9_@+=:,./-]+$/.test(m.python.command),
    "pythonCommand",
    `${describe(m.python.command)} must be a command name or path`,
  );
  m.python.preamble.forEach((line, i) => {
    c.check(!CONTROL_CHARS.test(line), `shellPreamble[${i}]`, "must be one line without control characters");
  });
  c.check(
    VERSION.test(m.python.supervisorVersion),
    "supervisorVersion",
    `${describe(m.python.supervisorVersion)} is not a version like 4.2.5`,
  );
  if (m.python.indexUrl !== undefined)
    c.check(URL.test(m.python.indexUrl), "pipIndexUrl", `${describe(m.python.indexUrl)} is not an http(s) URL`);
  m.python.findLinks.forEach((l, i) => {
    c.check(URL.test(l) || PATH.test(l), `pipFindLinks[${i}]`, `${describe(l)} must be an absolute path or an http(s) URL`);
  });
  // Control endpoint
  if (m.control.kind === "unix") {
    c.path_("socketFile", m.control.socketFile);
    c.check(
      m.control.socketFile.length <= UNIX_SOCKET_MAX,
      "socketFile",
      `is ${m.control.socketFile.length} characters: unix socket paths are limited to ${UNIX_SOCKET_MAX}`,
    );
  } else {
    c.int("inetPort", m.control.port, 1, 65535);
    c.check(HOSTNAME.test(m.control.host), "inetHost", `${describe(m.control.host)} is not a host name or address`);
  }
  // [supervisord]
  const s = m.supervisord;
  c.path_("logfile", s.logfile);
  c.byteSize("logfileMaxbytes", s.logfileMaxbytes);
  c.int("logfileBackups", s.logfileBackups, 0, 1000);
  c.check(
    (LOG_LEVELS as readonly string[]).includes(s.loglevel),
    "loglevel",
    `${describe(s.loglevel)} must be one of ${LOG_LEVELS.join(", ")}`,
  );
  c.path_("pidfile", s.pidfile);
  c.int("minfds", s.minfds, 1, 1048576);
  c.int("minprocs", s.minprocs, 1, 1048576);
  c.check(/^[A-Za-z0-9_.@-]+$/.test(s.identifier), "identifier", `${describe(s.identifier)} must be letters, digits and _.@-`);
  c.umask("umask", s.umask);
  c.path_("childlogdir", s.childlogdir);
  c.supervisorEnvironment("environment", s.environment);
  c.path_("directory", s.directory);
  // Group and deploy
  c.name("groupName", m.group.name, "a group name");
  c.int("groupPriority", m.group.priority, -999999, 999999);
  c.int("healthTimeoutSeconds", m.healthTimeoutSeconds, 1, 3600);
  c.int("lockTimeoutSeconds", m.lockTimeoutSeconds, 0, 86400);
  if (m.redeployToken !== undefined) {
    c.check(/^[A-Za-z0-9_.:+-]{1,64}$/.test(m.redeployToken), "redeployToken", "must be 1-64 letters, digits or _.:+-");
  }
  c.check(
    m.deployResource === "null_resource" || m.deployResource === "terraform_data",
    "deployResource",
    "must be null_resource or terraform_data",
  );

  const problems = [...c.problems];
  const seen = new Map<string, string>();
  for (const svc of m.services) {
    const other = seen.get(svc.name);
    if (other !== undefined) {
      problems.push({
        path: svc.path,
        field: "name",
        message: `program ${describe(svc.name)} is already defined by ${other} in this instance`,
      });
    } else {
      seen.set(svc.name, svc.path);
    }
    if (svc.name === m.group.name) {
      problems.push({
        path: svc.path,
        field: "name",
        message: `equals the group name ${describe(m.group.name)}; supervisorctl could not tell them apart`,
      });
    }
    problems.push(...validateService(svc, m.dir));
  }
  return problems;
}

/** Instances on one host must not share an instance directory, socket, port or pidfile. */
export function validateHostConflicts(instances: readonly InstanceModel[]): Problem[] {
  const problems: Problem[] = [];
  const claims = new Map<string, string>();
  for (const m of instances) {
    const host = m.ssh.host.toLowerCase();
    const resources: [string, string][] = [
      ["baseDirectory", `dir:${m.dir}`],
      ["pidfile", `file:${m.supervisord.pidfile}`],
      m.control.kind === "unix" ? ["socketFile", `file:${m.control.socketFile}`] : ["inetPort", `port:${m.control.port}`],
    ];
    for (const [field, key] of resources) {
      const claimKey = `${host}|${key}`;
      const owner = claims.get(claimKey);
      if (owner !== undefined && owner !== m.path) {
        problems.push({ path: m.path, field, message: `${key.replace(/^\w+:/, "")} on ${m.ssh.host} is already used by ${owner}` });
      } else {
        claims.set(claimKey, m.path);
      }
    }
  }
  return problems;
}

/** Warnings: allowed, but worth a human's attention at every synth. */
export function instanceWarnings(m: InstanceModel): Problem[] {
  const w: Problem[] = [];
  if (m.ssh.insecureSkipHostKeyCheck) {
    w.push({
      path: m.path,
      field: "insecureSkipHostKeyCheck",
      message: "the SSH host key is not checked: a man in the middle could receive the deploy",
    });
  }
  if (m.control.kind === "inet" && !LOOPBACK.test(m.control.host)) {
    w.push({
      path: m.path,
      field: "inetHost",
      message: `supervisord's HTTP server listens on ${m.control.host}, reachable from other machines; prefer the unix socket or 127.0.0.1`,
    });
  }
  return w;
}

/** Validates and throws every problem at once: for use without constructs. */
export function assertValid(m: InstanceModel): InstanceModel {
  const problems = validateInstance(m);
  if (problems.length > 0) throw new ValidationError(problems);
  return m;
}
