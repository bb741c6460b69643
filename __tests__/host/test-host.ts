/**
 * A real local "test host" for end-to-end tests: a private sshd on 127.0.0.1 (own config, host
 * key, user CA, per-user authorized_keys) and two real Unix users standing in for `jaws` and
 * `jaws_jtm`. Terraform's SSH provisioners and supervisord run against it for real.
 *
 * Must run as root (creates users, starts sshd). Only one test host should be active at a time:
 * the Unix users are shared machine-wide and their processes get killed on reset/stop.
 */
import { type SpawnSyncOptions, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export type TestUserRole = "jaws" | "jtm";

/** Unix users standing in for `jaws` and `jaws_jtm`. */
export const TEST_USERS: Readonly<Record<TestUserRole, string>> = {
  jaws: "jawstest",
  jtm: "jawstest_jtm",
};

export const SSHD = "/usr/sbin/sshd";
export const SFTP_SERVER = "/usr/lib/openssh/sftp-server";
/** Debian's interpreter: it sees the `supervisor` package (the first python3 on PATH may not). */
export const SYSTEM_PYTHON = "/usr/bin/python3";
/**
 * Default parent of the per-host temp dirs. Not /tmp: sshd's StrictModes rejects an
 * AuthorizedKeysFile below a group/world-writable directory, and /tmp is 1777.
 */
export const DEFAULT_PARENT_DIR = "/var/lib/jaws-test-host";
/**
 * Machine-wide lock: the Unix users are shared, so two live hosts (two test runs on one machine)
 * would kill each other's processes. Under /run so a reboot clears it.
 */
export const LOCK_FILE = "/run/jaws-test-host.lock";

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Private key authorized (via authorized_keys) for this user only. */
  privateKeyPath: string;
  /** `ssh-ed25519 AAAA...` (no comment). */
  publicKey: string;
  /** Only jaws: private key that is NOT in authorized_keys; it logs in through its certificate. */
  certKeyPath?: string;
  /** Only jaws: OpenSSH user certificate for certKeyPath, signed by the test CA, principal = name. */
  certificatePath?: string;
}

export interface TestHostInfo {
  dir: string;
  host: "127.0.0.1";
  port: number;
  /** `ssh-ed25519 AAAA...` (no comment); what Terraform's `host_key` expects. */
  hostPublicKey: string;
  /** known_hosts file pinning hostPublicKey for `[127.0.0.1]:port`. */
  knownHostsFile: string;
  sshdConfig: string;
  sshdLog: string;
  sshdPidFile: string;
  /** `ssh-ed25519 AAAA...` of the user CA trusted by sshd (TrustedUserCAKeys). */
  caPublicKey: string;
  caPublicKeyPath: string;
  users: { jaws: UserInfo; jtm: UserInfo };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface UserProcess {
  pid: number;
  /** ps STAT column (zombies are never returned). */
  state: string;
  cmd: string;
}

// ---------------------------------------------------------------------------------------------
// small helpers

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Absolute path of an executable, looking at PATH plus the sbin dirs (root's tools). */
export function findExecutable(name: string): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function tool(name: string): string {
  const p = findExecutable(name);
  if (!p) throw new Error(`test host: required executable '${name}' not found`);
  return p;
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: 60_000,
    ...opts,
  });
  const stdout = String(r.stdout ?? "");
  let stderr = String(r.stderr ?? "");
  if (r.error) stderr += `${stderr ? "\n" : ""}${r.error.message}`;
  if (r.signal) stderr += `${stderr ? "\n" : ""}killed by ${r.signal}`;
  return { code: r.status ?? -1, stdout, stderr };
}

function runOrThrow(cmd: string, args: string[], opts: SpawnSyncOptions = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`test host: '${[cmd, ...args].join(" ")}' exited ${r.code}\n${r.stderr || r.stdout}`.trim());
  }
  return r;
}

/** First two fields of an OpenSSH public key line (drops the comment). */
function stripComment(pubLine: string): string {
  const parts = pubLine.trim().split(/\s+/);
  if (parts.length < 2) throw new Error(`test host: not a public key line: ${pubLine}`);
  return `${parts[0]} ${parts[1]}`;
}

function readPublicKey(pubPath: string): string {
  return stripComment(fs.readFileSync(pubPath, "utf8"));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Zombies count as dead: our init may never reap them. */
export function pidRunning(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

function isSshdPid(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("sshd");
  } catch {
    return false;
  }
}

/** SIGTERM, wait, then SIGKILL. Only for a pid we verified is ours. */
function killPid(pid: number, timeoutMs = 5_000): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (pidRunning(pid) && Date.now() < deadline) sleepSync(50);
  if (pidRunning(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    const d2 = Date.now() + 5_000;
    while (pidRunning(pid) && Date.now() < d2) sleepSync(50);
  }
}

function logTail(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, "utf8");
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return "(no sshd log)";
  }
}

// ---------------------------------------------------------------------------------------------
// prerequisites

const PYTHON_PROBE = `
try:
    import supervisor.options
    supervisor.options.ServerOptions
    print("supervisor:ok")
except Exception:
    pass
try:
    import venv, ensurepip
    print("venv:ok")
except Exception:
    pass
`;

/** Human-readable list of missing prerequisites; empty = this machine can run the test host. */
export function checkPrerequisites(): string[] {
  const missing: string[] = [];
  const uid = process.getuid?.();
  if (uid !== 0) {
    missing.push(`must run as root (uid is ${uid}): the test host creates Unix users and starts sshd`);
  }
  if (!isExecutable(SSHD)) missing.push(`${SSHD} missing (apt-get install openssh-server)`);
  if (!isExecutable(SFTP_SERVER)) {
    missing.push(`${SFTP_SERVER} missing (apt-get install openssh-sftp-server)`);
  }
  for (const t of ["ssh", "ssh-keygen", "scp"]) {
    if (!findExecutable(t)) missing.push(`${t} missing (apt-get install openssh-client)`);
  }
  if (!isExecutable(SYSTEM_PYTHON)) {
    missing.push(`${SYSTEM_PYTHON} missing (apt-get install python3)`);
  } else {
    // One interpreter start for both checks (each costs ~0.3 s).
    // Debian strips ensurepip out of the stdlib; without it `python3 -m venv` fails.
    const probe = run(SYSTEM_PYTHON, ["-c", PYTHON_PROBE]);
    if (!probe.stdout.includes("supervisor:ok")) {
      missing.push(`${SYSTEM_PYTHON} cannot 'import supervisor' (apt-get install supervisor)`);
    }
    if (!probe.stdout.includes("venv:ok")) {
      missing.push(`${SYSTEM_PYTHON} cannot '-m venv' (apt-get install python3-venv)`);
    }
  }
  if (!findExecutable("terraform")) missing.push("terraform missing on PATH");
  for (const [t, pkg] of [
    ["useradd", "passwd"],
    ["usermod", "passwd"],
    ["runuser", "util-linux"],
    ["getent", "libc-bin"],
    ["ps", "procps"],
    ["pkill", "procps"],
  ] as const) {
    if (!findExecutable(t)) missing.push(`${t} missing (apt-get install ${pkg})`);
  }
  return missing;
}

// ---------------------------------------------------------------------------------------------
// users

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function lookupUser(name: string): PasswdEntry | undefined {
  const r = run(tool("getent"), ["passwd", name]);
  if (r.code !== 0) return undefined;
  const [user, , uid, gid, , home, shell] = r.stdout.trim().split(":");
  if (user === undefined || home === undefined || shell === undefined) return undefined;
  return { name: user, uid: Number(uid), gid: Number(gid), home, shell };
}

/** Idempotent: create if missing, then force home/shell/unlocked state. */
function ensureUser(name: string): PasswdEntry {
  const home = `/home/${name}`;
  let entry = lookupUser(name);
  if (!entry) {
    const r = run(tool("useradd"), ["-m", "-d", home, "-s", "/bin/bash", name]);
    // Another process may have created it in between; re-check before failing.
    entry = lookupUser(name);
    if (!entry) throw new Error(`test host: useradd ${name} failed: ${r.stderr}`);
  }
  if (entry.shell !== "/bin/bash" || entry.home !== home) {
    runOrThrow(tool("usermod"), ["-s", "/bin/bash", "-d", home, name]);
    entry = { ...entry, shell: "/bin/bash", home };
  }
  // useradd leaves the account locked ('!'); with UsePAM no sshd then refuses even key logins.
  runOrThrow(tool("usermod"), ["-p", "*", name]);
  if (!fs.existsSync(home)) {
    fs.mkdirSync(home, { recursive: true, mode: 0o750 });
    fs.chownSync(home, entry.uid, entry.gid);
  }
  return entry;
}

/** Live (non-zombie) processes whose effective user is `name`. */
export function userProcesses(name: string): UserProcess[] {
  const r = run(tool("ps"), ["-u", name, "-o", "pid=,stat=,args="]);
  // ps exits 1 when nothing matches (or the user does not exist).
  if (r.code !== 0) return [];
  const out: UserProcess[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    const [, pid, state, cmd] = m ?? [];
    if (!pid || !state || state.startsWith("Z")) continue;
    out.push({ pid: Number(pid), state, cmd: (cmd ?? "").trim() });
  }
  return out;
}

/** pkill -u (TERM), wait until none left, then KILL; throws if some survive. */
export function killUserProcesses(name: string, timeoutMs = 10_000): void {
  if (!lookupUser(name)) return;
  const pkill = tool("pkill");
  const waitGone = (ms: number) => {
    const deadline = Date.now() + ms;
    while (userProcesses(name).length > 0 && Date.now() < deadline) sleepSync(100);
    return userProcesses(name).length === 0;
  };
  if (userProcesses(name).length === 0) return;
  run(pkill, ["-TERM", "-u", name]);
  if (waitGone(timeoutMs)) return;
  run(pkill, ["-KILL", "-u", name]);
  if (waitGone(5_000)) return;
  const left = userProcesses(name)
    .map((p) => `${p.pid} ${p.state} ${p.cmd}`)
    .join("\n");
  throw new Error(`test host: processes of ${name} survive SIGKILL:\n${left}`);
}

// ---------------------------------------------------------------------------------------------
// start / stop

export interface StartTestHostOptions {
  /**
   * Parent directory in which a fresh `host-XXXXXX` dir is created (mkdtemp). Every component
   * must be root-owned and not group/world writable (sshd StrictModes). Default
   * DEFAULT_PARENT_DIR.
   */
  dir?: string;
  /** Also empty both homes (except .ssh) before starting. Default false. */
  resetHomes?: boolean;
  /** Overall startup timeout (not counting the wait for the lock). Default 30 s. */
  timeoutMs?: number;
  /**
   * Take LOCK_FILE, waiting while another live process holds it. Default true. Set false only for
   * a nested host whose starter cannot hold the lock (e.g. in a vitest worker while the main
   * process holds it for the global host).
   */
  lock?: boolean;
  /** How long to wait for the lock. Default 10 min. */
  lockTimeoutMs?: number;
}

/** Hosts of this process holding LOCK_FILE (re-entrant within one process). */
let lockDepth = 0;
const lockedDirs = new Set<string>();

async function acquireHostLock(timeoutMs: number): Promise<void> {
  if (lockDepth > 0) {
    lockDepth++;
    return;
  }
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      lockDepth = 1;
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = readPid(LOCK_FILE);
    // Stale (holder died without stopTestHost) or taken by this very process: take it over.
    if (holder === undefined || holder === process.pid || !pidRunning(holder)) {
      fs.rmSync(LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `test host: another test host is active (pid ${holder} holds ${LOCK_FILE}); ` +
          "the test users are shared, so runs cannot overlap. Stop it or remove the lock if stale.",
      );
    }
    if (!warned) {
      console.warn(`test host: waiting for ${LOCK_FILE} held by pid ${holder}`);
      warned = true;
    }
    await sleep(500);
  }
}

function releaseHostLock(): void {
  if (lockDepth === 0) return;
  lockDepth--;
  if (lockDepth === 0 && readPid(LOCK_FILE) === process.pid) fs.rmSync(LOCK_FILE, { force: true });
}

/** sshd StrictModes-like check so we fail with a clear message instead of "Permission denied". */
function assertStrictModesSafe(dir: string): void {
  let p = path.resolve(dir);
  for (;;) {
    const st = fs.statSync(p);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new Error(
        `test host: ${p} must be root-owned and not group/world-writable (sshd StrictModes ` +
          `rejects authorized_keys below it); pass another { dir }`,
      );
    }
    if (p === "/") return;
    p = path.dirname(p);
  }
}

/**
 * Remove hosts left behind by a crashed run: their starter process (owner.pid) is gone.
 * Hosts of a live starter are left alone.
 */
function cleanupStaleHosts(parent: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith("host-")) continue;
    const d = path.join(parent, e);
    const owner = readPid(path.join(d, "owner.pid"));
    if (owner !== undefined && pidRunning(owner)) continue;
    const sshdPid = readPid(path.join(d, "sshd.pid"));
    if (sshdPid !== undefined && isSshdPid(sshdPid)) killPid(sshdPid);
    fs.rmSync(d, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no port"))));
    });
  });
}

function canConnect(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** A new ed25519 key pair without passphrase: `file` and `file.pub`. */
export function keygen(file: string, comment: string): void {
  runOrThrow(tool("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

function writeFile(file: string, content: string, mode: number): void {
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode); // writeFileSync's mode is masked by umask
}

function sshdConfigText(dir: string, port: number, withPenaltiesOff: boolean): string {
  const lines = [
    "# jaws-deploy test host (generated)",
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/sshd/ssh_host_ed25519_key`,
    `PidFile ${dir}/sshd.pid`,
    "UsePAM no",
    "StrictModes yes",
    `Subsystem sftp ${SFTP_SERVER}`,
    `AuthorizedKeysFile ${dir}/authorized_keys/%u`,
    `TrustedUserCAKeys ${dir}/sshd/user_ca.pub`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin no",
    // Terraform's bastion_* connection tunnels through direct-tcpip.
    "AllowTcpForwarding yes",
    "X11Forwarding no",
    "PrintMotd no",
    // VERBOSE: "Accepted publickey for ..." lines let tests count sessions.
    "LogLevel VERBOSE",
    "MaxStartups 100",
    "MaxSessions 50",
    `AllowUsers ${TEST_USERS.jaws} ${TEST_USERS.jtm}`,
  ];
  // OpenSSH >= 9.8 penalises sources with failed auths; tests fail logins on purpose.
  if (withPenaltiesOff) lines.push("PerSourcePenalties no");
  return `${lines.join("\n")}\n`;
}

/** Common ssh client options: no user/system config, no agent, pinned host key only. */
export function sshOptions(info: TestHostInfo): string[] {
  return [
    "-F",
    "/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${info.knownHostsFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
  ];
}

export interface SshRunOptions {
  /** Default 60 s. */
  timeoutMs?: number;
  /** stdin for the remote command. */
  input?: string;
  /** jaws only: authenticate with the CA-signed certificate instead of authorized_keys. */
  useCertificate?: boolean;
  /** Override the identity (private key file). */
  identityFile?: string;
  /** Login name override (e.g. to check a key is refused for the other user). */
  loginAs?: string;
  extraSshArgs?: string[];
}

/** Run one command over real ssh as that user (BatchMode, pinned host key). */
export function sshRun(info: TestHostInfo, which: TestUserRole, command: string, opts: SshRunOptions = {}): RunResult {
  const user = info.users[which];
  const args = [...sshOptions(info), "-p", String(info.port)];
  if (opts.useCertificate) {
    if (!user.certKeyPath || !user.certificatePath) {
      throw new Error(`test host: user ${which} has no certificate`);
    }
    args.push("-i", user.certKeyPath, "-o", `CertificateFile=${user.certificatePath}`);
  } else {
    args.push("-i", opts.identityFile ?? user.privateKeyPath);
  }
  args.push(...(opts.extraSshArgs ?? []), `${opts.loginAs ?? user.name}@${info.host}`, "--", command);
  return run(tool("ssh"), args, {
    timeout: opts.timeoutMs ?? 60_000,
    input: opts.input ?? "",
  });
}

/** Local check without ssh: `runuser -u <name> -- bash -lc <command>` in the user's home. */
export function runAsUser(which: TestUserRole, command: string, opts: { timeoutMs?: number; input?: string } = {}): RunResult {
  const name = TEST_USERS[which];
  const entry = lookupUser(name);
  if (!entry) throw new Error(`test host: user ${name} does not exist`);
  return run(tool("runuser"), ["-u", name, "--", "bash", "-lc", command], {
    cwd: fs.existsSync(entry.home) ? entry.home : "/",
    // A login-like environment, not root's (vitest, NODE_OPTIONS, pyenv shims...).
    env: {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      LANG: "C.UTF-8",
      HOME: entry.home,
      USER: name,
      LOGNAME: name,
      SHELL: "/bin/bash",
    },
    timeout: opts.timeoutMs ?? 60_000,
    input: opts.input ?? "",
  });
}

/**
 * Create users, keys, CA and sshd config in a fresh temp dir; start sshd; wait until real ssh
 * logins work for both users. Result is also written to `<dir>/test-host.json`.
 */
export async function startTestHost(opts: StartTestHostOptions = {}): Promise<TestHostInfo> {
  const missing = checkPrerequisites();
  if (missing.length > 0) {
    throw new Error(`test host: missing prerequisites:\n- ${missing.join("\n- ")}`);
  }
  const parent = path.resolve(opts.dir ?? DEFAULT_PARENT_DIR);
  fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
  assertStrictModesSafe(parent);
  const locked = opts.lock ?? true;
  if (locked) await acquireHostLock(opts.lockTimeoutMs ?? 600_000);
  try {
    const info = await startLocked(parent, opts);
    if (locked) lockedDirs.add(info.dir); // so stopTestHost releases it
    return info;
  } catch (e) {
    if (locked) releaseHostLock();
    throw e;
  }
}

async function startLocked(parent: string, opts: StartTestHostOptions): Promise<TestHostInfo> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  cleanupStaleHosts(parent);

  const jawsEntry = ensureUser(TEST_USERS.jaws);
  const jtmEntry = ensureUser(TEST_USERS.jtm);
  // Leftovers of a crashed run (e.g. supervisord) would interfere with the next tests.
  killUserProcesses(TEST_USERS.jaws);
  killUserProcesses(TEST_USERS.jtm);
  if (!fs.existsSync("/run/sshd")) fs.mkdirSync("/run/sshd", { mode: 0o755 });

  const dir = fs.mkdtempSync(path.join(parent, "host-"));
  let sshdPid: number | undefined;
  try {
    // sshd reads authorized_keys as the target user: dirs must be traversable by everyone.
    fs.chmodSync(dir, 0o755);
    writeFile(path.join(dir, "owner.pid"), `${process.pid}\n`, 0o644);
    for (const sub of ["sshd", "keys"]) fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
    fs.mkdirSync(path.join(dir, "authorized_keys"), { mode: 0o755 });
    fs.chmodSync(path.join(dir, "authorized_keys"), 0o755);

    const hostKey = path.join(dir, "sshd", "ssh_host_ed25519_key");
    keygen(hostKey, "jaws-test-host");
    const hostPublicKey = readPublicKey(`${hostKey}.pub`);
    const ca = path.join(dir, "sshd", "user_ca");
    keygen(ca, "jaws-test-user-ca");
    const caPublicKeyPath = `${ca}.pub`;

    const makeUser = (role: TestUserRole, entry: PasswdEntry): UserInfo => {
      const key = path.join(dir, "keys", `${entry.name}_ed25519`);
      keygen(key, `${entry.name}@jaws-test-host`);
      const publicKey = readPublicKey(`${key}.pub`);
      writeFile(path.join(dir, "authorized_keys", entry.name), `${publicKey}\n`, 0o644);
      const u: UserInfo = {
        name: entry.name,
        uid: entry.uid,
        gid: entry.gid,
        home: entry.home,
        privateKeyPath: key,
        publicKey,
      };
      if (role === "jaws") {
        // Separate pair, deliberately NOT in authorized_keys: only its certificate can log in.
        const certKey = path.join(dir, "keys", `${entry.name}_cert_ed25519`);
        keygen(certKey, `${entry.name}-cert@jaws-test-host`);
        runOrThrow(tool("ssh-keygen"), [
          "-q",
          "-s",
          ca,
          "-I",
          `${entry.name}-test-cert`,
          "-n",
          entry.name,
          "-V",
          "-5m:+30d",
          `${certKey}.pub`,
        ]);
        u.certKeyPath = certKey;
        u.certificatePath = `${certKey}-cert.pub`;
      }
      return u;
    };
    const users = {
      jaws: makeUser("jaws", jawsEntry),
      jtm: makeUser("jtm", jtmEntry),
    };

    const sshdConfig = path.join(dir, "sshd_config");
    const sshdLog = path.join(dir, "sshd.log");
    const sshdPidFile = path.join(dir, "sshd.pid");
    const knownHostsFile = path.join(dir, "known_hosts");

    // Probe once whether this sshd knows PerSourcePenalties (OpenSSH >= 9.8).
    writeFile(sshdConfig, sshdConfigText(dir, 22, true), 0o644);
    const probe = run(SSHD, ["-t", "-f", sshdConfig]);
    const penaltiesOff = !/PerSourcePenalties/i.test(probe.stderr);

    let info: TestHostInfo | undefined;
    let lastError = "";
    for (let attempt = 1; attempt <= 5 && !info; attempt++) {
      const port = await freePort();
      writeFile(sshdConfig, sshdConfigText(dir, port, penaltiesOff), 0o644);
      const check = run(SSHD, ["-t", "-f", sshdConfig]);
      if (check.code !== 0) {
        throw new Error(`test host: sshd -t rejected ${sshdConfig}:\n${check.stderr}`);
      }
      writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`, 0o644);
      fs.rmSync(sshdPidFile, { force: true });
      const logStart = fs.existsSync(sshdLog) ? fs.statSync(sshdLog).size : 0;

      // -D: keep it a direct child so an early exit (e.g. port taken) is seen at once.
      // Not detached: a Ctrl-C to the test run's process group also stops sshd.
      const child = spawn(SSHD, ["-D", "-f", sshdConfig, "-E", sshdLog], {
        stdio: "ignore",
      });
      const state: { exited?: string } = {};
      child.once("exit", (code, sig) => {
        state.exited = `sshd exited (code ${code}, signal ${sig})`;
      });
      child.once("error", (e) => {
        state.exited = `cannot spawn sshd: ${e.message}`;
      });
      child.unref();
      sshdPid = child.pid;

      let up = false;
      while (!state.exited && Date.now() < deadline) {
        if (fs.existsSync(sshdPidFile) && (await canConnect(port))) {
          up = true;
          break;
        }
        await sleep(50);
      }
      if (!up) {
        const newLog = fs.existsSync(sshdLog) ? fs.readFileSync(sshdLog, "utf8").slice(logStart) : "";
        if (sshdPid && !state.exited) killPid(sshdPid);
        sshdPid = undefined;
        lastError = `${state.exited ?? "sshd did not accept connections in time"} on port ${port}`;
        // A port grabbed by someone else between freePort() and bind(): retry with another.
        if (state.exited && /bind|Address already in use/i.test(newLog) && Date.now() < deadline) continue;
        throw new Error(`test host: ${lastError}\n--- sshd log tail ---\n${logTail(sshdLog)}`);
      }
      info = {
        dir,
        host: "127.0.0.1",
        port,
        hostPublicKey,
        knownHostsFile,
        sshdConfig,
        sshdLog,
        sshdPidFile,
        caPublicKey: readPublicKey(caPublicKeyPath),
        caPublicKeyPath,
        users,
      };
    }
    if (!info) throw new Error(`test host: could not start sshd: ${lastError}\n${logTail(sshdLog)}`);

    // Listening is not enough: prove a real key login works for each user.
    for (const role of ["jaws", "jtm"] as const) {
      let r: RunResult = { code: -1, stdout: "", stderr: "not tried" };
      while (Date.now() < deadline) {
        r = sshRun(info, role, "true", {
          timeoutMs: Math.max(1_000, deadline - Date.now()),
        });
        if (r.code === 0) break;
        await sleep(200);
      }
      if (r.code !== 0) {
        throw new Error(
          `test host: ssh login as ${info.users[role].name} failed (exit ${r.code}): ${r.stderr}\n` +
            `--- sshd log tail ---\n${logTail(sshdLog)}`,
        );
      }
    }
    if (opts.resetHomes) {
      resetUserHome(info, "jaws");
      resetUserHome(info, "jtm");
    }
    writeFile(path.join(dir, "test-host.json"), `${JSON.stringify(info, null, 2)}\n`, 0o644);
    return info;
  } catch (e) {
    if (sshdPid && isSshdPid(sshdPid)) killPid(sshdPid);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Stop sshd, kill every process of both users, remove the temp dir. Users and homes stay. */
export function stopTestHost(info: TestHostInfo): void {
  const errors: string[] = [];
  const pid = readPid(info.sshdPidFile);
  // Check the pid really is an sshd: a stale pidfile may point at a recycled pid.
  if (pid !== undefined && isSshdPid(pid)) killPid(pid);
  for (const role of ["jaws", "jtm"] as const) {
    try {
      killUserProcesses(info.users[role].name);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  // Guard against deleting something that is not a test host dir.
  if (path.basename(info.dir).startsWith("host-") && fs.existsSync(path.join(info.dir, "owner.pid"))) {
    fs.rmSync(info.dir, { recursive: true, force: true });
  }
  if (lockedDirs.delete(info.dir)) releaseHostLock();
  if (errors.length > 0) throw new Error(errors.join("\n"));
}

/** Kill that user's processes and delete everything in its home except `.ssh`. */
export function resetUserHome(info: TestHostInfo, which: TestUserRole): void {
  const user = info.users[which];
  // Never let a corrupted info object point this at a real home.
  if (user.name !== TEST_USERS[which] || user.home !== `/home/${user.name}`) {
    throw new Error(`test host: refusing to reset ${user.home} of ${user.name}`);
  }
  killUserProcesses(user.name);
  if (!fs.existsSync(user.home)) return;
  for (const entry of fs.readdirSync(user.home)) {
    if (entry === ".ssh") continue;
    fs.rmSync(path.join(user.home, entry), { recursive: true, force: true });
  }
}

export interface SessionCount {
  /** Accepted logins since the offset. */
  sessions: number;
  /** Per login name. */
  byUser: Record<string, number>;
  /** Pass this back as sinceByteOffset next time. */
  offset: number;
}

/**
 * Count accepted SSH logins in the sshd log after `sinceByteOffset`. Only complete lines are
 * consumed, so the returned offset never splits a line that sshd is still writing.
 */
export function countSshSessions(info: TestHostInfo, sinceByteOffset = 0): SessionCount {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(info.sshdLog);
  } catch {
    return { sessions: 0, byUser: {}, offset: sinceByteOffset };
  }
  const lastNl = buf.lastIndexOf(0x0a);
  const end = lastNl >= sinceByteOffset ? lastNl + 1 : sinceByteOffset;
  const text = buf.subarray(sinceByteOffset, end).toString("utf8");
  const byUser: Record<string, number> = {};
  let sessions = 0;
  // `sshd -E file` lines carry no "sshd[pid]: " prefix; syslog lines do. Accept both.
  for (const [, user = "?"] of text.matchAll(/(?:^|: )Accepted \S+ for (\S+) from /gm)) {
    sessions++;
    byUser[user] = (byUser[user] ?? 0) + 1;
  }
  return { sessions, byUser, offset: end };
}

/** Current end of the sshd log: take it before an action, pass to countSshSessions after. */
export function sshLogOffset(info: TestHostInfo): number {
  return countSshSessions(info, 0).offset;
}
