/**
 * A real local "test host": a private sshd on 127.0.0.1 (own config, host key, user CA, per-user
 * authorized_keys) and two real Unix users standing in for `jaws` and `jaws_jtm`. Terraform's SSH
 * provisioners and supervisord run against it for real.
 *
 * Must run as root (creates users, starts sshd). The Unix users are shared machine-wide and their
 * processes get killed on start and stop: a lock file keeps two hosts (two runs) apart.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { type RunResult, run, runOk } from "./commands";

export type TestUserRole = "jaws" | "jtm";
export const ROLES = ["jaws", "jtm"] as const satisfies readonly TestUserRole[];
/** Unix users standing in for `jaws` and `jaws_jtm`. */
export const TEST_USERS: Readonly<Record<TestUserRole, string>> = { jaws: "jawstest", jtm: "jawstest_jtm" };
const SSHD = "/usr/sbin/sshd";
const SFTP_SERVER = "/usr/lib/openssh/sftp-server";
/** Debian's interpreter: it sees the `supervisor` package (the first python3 on PATH may not). */
export const SYSTEM_PYTHON = "/usr/bin/python3";
/** Parent of the host dirs. Not /tmp: sshd's StrictModes rejects authorized_keys below a 1777 dir. */
export const DEFAULT_PARENT_DIR = "/var/lib/jaws-test-host";
/** Machine-wide lock (under /run: a reboot clears it). */
export const LOCK_FILE = "/run/jaws-test-host.lock";

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Private key authorized (authorized_keys) for this user only. */
  privateKeyPath: string;
  /** `ssh-ed25519 AAAA...` (no comment). */
  publicKey: string;
  /** jaws only: a key NOT in authorized_keys, which logs in through its certificate. */
  certKeyPath?: string;
  /** jaws only: its OpenSSH user certificate, signed by the test CA, principal = name. */
  certificatePath?: string;
}

export interface TestHostInfo {
  dir: string;
  host: "127.0.0.1";
  port: number;
  /** `ssh-ed25519 AAAA...`: what Terraform's `host_key` expects. */
  hostPublicKey: string;
  /** known_hosts pinning hostPublicKey for `[127.0.0.1]:port`. */
  knownHostsFile: string;
  sshdLog: string;
  sshdPidFile: string;
  users: Record<TestUserRole, UserInfo>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms: number) => Atomics.wait(sleepCell, 0, 0, ms);

/** Absolute path of an executable on PATH or in the sbin dirs (root's tools). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  return (name.includes("/") ? [name] : dirs.filter(Boolean).map((d) => path.join(d, name))).find(isExecutable);
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

const publicKeyOf = (pubFile: string) => fs.readFileSync(pubFile, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");

/**
 * A file's text; undefined when it does not exist (a process gone, no pidfile). A /proc entry of a
 * process that exits between listing and reading gives ESRCH: gone too. Any other error throws.
 */
export function readIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || (code === "ESRCH" && file.startsWith("/proc/"))) return undefined;
    throw e;
  }
}

/** Alive and not a zombie (our init may never reap them). */
export function pidRunning(pid: number): boolean {
  const stat = readIfThere(`/proc/${pid}/stat`);
  return stat !== undefined && !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
}

/** The pid in a pidfile; undefined when the file is missing or holds no pid. */
function readPid(file: string): number | undefined {
  const n = Number.parseInt(readIfThere(file) ?? "", 10);
  return n > 1 ? n : undefined;
}

/** SIGTERM, up to 5 s, then SIGKILL; only for a pid that really is an sshd (a stale pidfile may name a recycled pid). */
function killSshd(pid: number | undefined): void {
  if (pid === undefined || !pidRunning(pid) || !readIfThere(`/proc/${pid}/cmdline`)?.includes("sshd")) return;
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    process.kill(pid, signal);
    const deadline = Date.now() + 5_000;
    while (pidRunning(pid) && Date.now() < deadline) sleepSync(50);
    if (!pidRunning(pid)) return;
  }
}

/** What this machine lacks to run the test host; empty when it can. */
export function checkPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0)
    missing.push(`must run as root (uid is ${process.getuid?.()}): the test host creates Unix users and starts sshd`);
  const packages = `openssh-server:${SSHD} openssh-sftp-server:${SFTP_SERVER} openssh-client:ssh,ssh-keygen,scp passwd:useradd,usermod
    util-linux:runuser libc-bin:getent procps:ps,pkill python3:${SYSTEM_PYTHON}`;
  for (const [pkg, tools] of packages.split(/\s+/).map((p) => p.split(":"))) {
    for (const t of tools.split(",")) if (!findExecutable(t)) missing.push(`${t} missing (apt-get install ${pkg})`);
  }
  if (!findExecutable("terraform")) missing.push("terraform missing on PATH");
  if (isExecutable(SYSTEM_PYTHON)) {
    // One interpreter start for both (~0.3 s each). Debian strips ensurepip: then `-m venv` fails.
    const probe = run(SYSTEM_PYTHON, ["-c", "import supervisor.options, venv, ensurepip"]);
    if (probe.code !== 0)
      missing.push(`${SYSTEM_PYTHON}: ${probe.stderr.trim().split("\n").pop()} (apt-get install supervisor python3-venv)`);
  }
  return missing;
}

type PasswdEntry = Pick<UserInfo, "name" | "uid" | "gid" | "home"> & { shell: string };

export function lookupUser(name: string): PasswdEntry | undefined {
  const r = run(tool("getent"), ["passwd", name]);
  if (r.code === 2) return undefined; // no such user
  if (r.code !== 0) throw new Error(`test host: getent passwd ${name} exited ${r.code}: ${r.stderr}`);
  const [user, , uid, gid, , home, shell] = r.stdout.trim().split(":");
  return { name: user, uid: Number(uid), gid: Number(gid), home, shell };
}

/** Idempotent: create if missing, then force home, shell and an unlocked account. */
function ensureUser(name: string): PasswdEntry {
  const home = `/home/${name}`;
  // Another process may create it in between: failures show in the lookup after.
  if (!lookupUser(name)) run(tool("useradd"), ["-m", "-d", home, "-s", "/bin/bash", name]);
  const entry = lookupUser(name);
  if (!entry) throw new Error(`test host: could not create user ${name}`);
  // Only when needed: usermod -d refuses while the user has processes.
  if (entry.home !== home || entry.shell !== "/bin/bash") runOk(tool("usermod"), ["-s", "/bin/bash", "-d", home, name]);
  // useradd leaves the account locked ('!'): sshd then refuses even key logins.
  runOk(tool("usermod"), ["-p", "*", name]);
  if (!fs.existsSync(home)) {
    fs.mkdirSync(home, { recursive: true, mode: 0o750 });
    fs.chownSync(home, entry.uid, entry.gid);
  }
  return { ...entry, home, shell: "/bin/bash" };
}

export interface UserProcess {
  pid: number;
  /** ps STAT column (zombies are never returned). */
  state: string;
  cmd: string;
}

/** Live (non-zombie) processes whose effective user is `name`. */
export function userProcesses(name: string): UserProcess[] {
  const r = run(tool("ps"), ["-u", name, "-o", "pid=,stat=,args="]);
  // ps exits 1 with no output when the user has no process.
  if (r.code !== 0 && !(r.code === 1 && r.output.trim() === "")) throw new Error(`ps -u ${name} exited ${r.code}: ${r.output}`);
  return r.stdout
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\S+)\s*(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !m[2].startsWith("Z"))
    .map(([, pid, state, cmd]) => ({ pid: Number(pid), state, cmd: cmd.trim() }));
}

/** pkill -u (TERM), wait until none is left, then KILL; throws if some survive. */
function killUserProcesses(name: string): void {
  for (const [signal, ms] of [
    ["TERM", 10_000],
    ["KILL", 5_000],
  ] as const) {
    if (userProcesses(name).length === 0) return;
    run(tool("pkill"), [`-${signal}`, "-u", name]);
    const deadline = Date.now() + ms;
    while (userProcesses(name).length > 0 && Date.now() < deadline) sleepSync(100);
  }
  const left = userProcesses(name);
  if (left.length > 0)
    throw new Error(`test host: processes of ${name} survive SIGKILL:\n${left.map((p) => `${p.pid} ${p.cmd}`).join("\n")}`);
}

/** Host dirs whose start took LOCK_FILE: their stop releases it. */
const lockedDirs = new Set<string>();

async function acquireHostLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let warned = false; ; ) {
    try {
      fs.writeFileSync(LOCK_FILE, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = readPid(LOCK_FILE);
    // Stale (its holder died) or this very process: take it over.
    if (holder === undefined || holder === process.pid || !pidRunning(holder)) {
      fs.rmSync(LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `test host: another test host is active (pid ${holder} holds ${LOCK_FILE}); the test users are shared, so runs cannot overlap`,
      );
    }
    if (!warned) console.warn(`test host: waiting for ${LOCK_FILE} held by pid ${holder}`);
    warned = true;
    await sleep(500);
  }
}

function releaseHostLock(): void {
  if (readPid(LOCK_FILE) === process.pid) fs.rmSync(LOCK_FILE, { force: true });
}

/** A new ed25519 key pair without passphrase: `file` and `file.pub`. */
export function keygen(file: string, comment: string): void {
  runOk(tool("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

function writeFile(file: string, content: string, mode: number): void {
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode); // writeFileSync's mode is masked by umask
}

function sshdConfigText(dir: string, port: number, penaltiesOff: boolean): string {
  return `${[
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/sshd/ssh_host_ed25519_key`,
    `PidFile ${dir}/sshd.pid`,
    "UsePAM no",
    "StrictModes yes",
    `Subsystem sftp ${SFTP_SERVER}`,
    `AuthorizedKeysFile ${dir}/authorized_keys/%u`,
    `TrustedUserCAKeys ${dir}/sshd/user_ca.pub`,
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin no",
    // Terraform's bastion_* connection tunnels through direct-tcpip.
    "AllowTcpForwarding yes",
    // VERBOSE: "Accepted publickey for ..." lines let tests count sessions.
    "LogLevel VERBOSE",
    "MaxStartups 100",
    "MaxSessions 50",
    `AllowUsers ${TEST_USERS.jaws} ${TEST_USERS.jtm}`,
    // OpenSSH >= 9.8 penalises sources with failed logins; tests fail logins on purpose.
    ...(penaltiesOff ? ["PerSourcePenalties no"] : []),
  ].join("\n")}\n`;
}

/** ssh client options: no user or system config, no agent, the pinned host key only. */
export function sshOptions(info: TestHostInfo): string[] {
  const options = `BatchMode=yes StrictHostKeyChecking=yes UserKnownHostsFile=${info.knownHostsFile} GlobalKnownHostsFile=/dev/null
    IdentitiesOnly=yes IdentityAgent=none ConnectTimeout=10 LogLevel=ERROR`;
  return ["-F", "/dev/null", ...options.split(/\s+/).flatMap((o) => ["-o", o])];
}

export interface SshRunOptions {
  /** @default 60_000 */
  timeoutMs?: number;
  /** jaws only: log in with the CA-signed certificate instead of authorized_keys. */
  useCertificate?: boolean;
  /** Another identity (private key file). */
  identityFile?: string;
  /** Another login name (to check a key is refused for the other user). */
  loginAs?: string;
  extraSshArgs?: string[];
}

/** One command over real ssh as that user (BatchMode, pinned host key). */
export function sshRun(info: TestHostInfo, role: TestUserRole, command: string, opts: SshRunOptions = {}): RunResult {
  const user = info.users[role];
  const identity = opts.useCertificate
    ? ["-i", user.certKeyPath as string, "-o", `CertificateFile=${user.certificatePath}`]
    : ["-i", opts.identityFile ?? user.privateKeyPath];
  const target = `${opts.loginAs ?? user.name}@${info.host}`;
  const args = [...sshOptions(info), "-p", String(info.port), ...identity, ...(opts.extraSshArgs ?? []), target, "--", command];
  return run(tool("ssh"), args, { timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** Locally as that user, without ssh: `runuser -u <name> -- bash -lc <command>` in its home. */
export function runAsUser(role: TestUserRole, command: string, opts: { timeoutMs?: number; input?: string } = {}): RunResult {
  const name = TEST_USERS[role];
  const home = `/home/${name}`;
  return run(tool("runuser"), ["-u", name, "--", "bash", "-lc", command], {
    cwd: fs.existsSync(home) ? home : "/",
    // A login-like environment, not root's (vitest, NODE_OPTIONS, pyenv shims...).
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", HOME: home, USER: name, LOGNAME: name, SHELL: "/bin/bash" },
    timeoutMs: opts.timeoutMs ?? 60_000,
    input: opts.input,
  });
}

export interface StartTestHostOptions {
  /** Parent of the fresh `host-XXXXXX` dir; root-owned, not group/world writable (StrictModes). @default DEFAULT_PARENT_DIR */
  dir?: string;
  /** Take LOCK_FILE. false only for a nested host whose starter cannot (a worker while the main process holds it). @default true */
  lock?: boolean;
  /** @default 10 min */
  lockTimeoutMs?: number;
}

/**
 * Users, keys, CA and sshd config in a fresh dir; sshd started; returns once real ssh logins work
 * for both users. The result is also written to `<dir>/test-host.json`.
 */
export async function startTestHost(opts: StartTestHostOptions = {}): Promise<TestHostInfo> {
  const missing = checkPrerequisites();
  if (missing.length > 0) throw new Error(`test host: missing prerequisites:\n- ${missing.join("\n- ")}`);
  const parent = path.resolve(opts.dir ?? DEFAULT_PARENT_DIR);
  fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
  for (let p = parent; ; p = path.dirname(p)) {
    const st = fs.statSync(p);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new Error(`test host: ${p} must be root-owned and not group/world-writable (sshd StrictModes); pass another { dir }`);
    }
    if (p === "/") break;
  }
  const locked = opts.lock ?? true;
  if (locked) await acquireHostLock(opts.lockTimeoutMs ?? 600_000);
  try {
    const info = await startLocked(parent);
    if (locked) lockedDirs.add(info.dir);
    return info;
  } catch (e) {
    if (locked) releaseHostLock();
    throw e;
  }
}

async function startLocked(parent: string): Promise<TestHostInfo> {
  const deadline = Date.now() + 60_000;
  // Hosts left by a crashed run: their starter (owner.pid) is gone.
  for (const e of fs.readdirSync(parent).filter((n) => n.startsWith("host-"))) {
    const d = path.join(parent, e);
    const owner = readPid(path.join(d, "owner.pid"));
    if (owner !== undefined && pidRunning(owner)) continue;
    killSshd(readPid(path.join(d, "sshd.pid")));
    fs.rmSync(d, { recursive: true, force: true });
  }
  const entries = { jaws: ensureUser(TEST_USERS.jaws), jtm: ensureUser(TEST_USERS.jtm) };
  // Leftovers of a crashed run (supervisord...) would interfere with the tests.
  for (const role of ROLES) killUserProcesses(TEST_USERS[role]);
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  const dir = fs.mkdtempSync(path.join(parent, "host-"));
  const sshdPidFile = path.join(dir, "sshd.pid");
  let sshdPid: number | undefined;
  try {
    // sshd reads authorized_keys as the target user: dirs must be traversable by everyone.
    fs.chmodSync(dir, 0o755);
    writeFile(path.join(dir, "owner.pid"), `${process.pid}\n`, 0o644);
    for (const sub of ["sshd", "keys"]) fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
    fs.mkdirSync(path.join(dir, "authorized_keys"));
    fs.chmodSync(path.join(dir, "authorized_keys"), 0o755);
    const hostKey = path.join(dir, "sshd", "ssh_host_ed25519_key");
    keygen(hostKey, "jaws-test-host");
    const ca = path.join(dir, "sshd", "user_ca");
    keygen(ca, "jaws-test-user-ca");

    const makeUser = (role: TestUserRole): UserInfo => {
      const { name, uid, gid, home } = entries[role];
      const key = path.join(dir, "keys", `${name}_ed25519`);
      keygen(key, `${name}@jaws-test-host`);
      const publicKey = publicKeyOf(`${key}.pub`);
      writeFile(path.join(dir, "authorized_keys", name), `${publicKey}\n`, 0o644);
      if (role !== "jaws") return { name, uid, gid, home, privateKeyPath: key, publicKey };
      // A second pair, NOT in authorized_keys: only its certificate can log in.
      const certKey = path.join(dir, "keys", `${name}_cert_ed25519`);
      keygen(certKey, `${name}-cert@jaws-test-host`);
      runOk(tool("ssh-keygen"), ["-q", "-s", ca, "-I", `${name}-test-cert`, "-n", name, "-V", "-5m:+30d", `${certKey}.pub`]);
      return { name, uid, gid, home, privateKeyPath: key, publicKey, certKeyPath: certKey, certificatePath: `${certKey}-cert.pub` };
    };
    const users = { jaws: makeUser("jaws"), jtm: makeUser("jtm") };
    const sshdConfig = path.join(dir, "sshd_config");
    const sshdLog = path.join(dir, "sshd.log");
    const knownHostsFile = path.join(dir, "known_hosts");
    const hostPublicKey = publicKeyOf(`${hostKey}.pub`);
    // Does this sshd know PerSourcePenalties (OpenSSH >= 9.8)?
    writeFile(sshdConfig, sshdConfigText(dir, 22, true), 0o644);
    const penaltiesOff = !/PerSourcePenalties/i.test(run(SSHD, ["-t", "-f", sshdConfig]).stderr);

    const port = await freeStablePort();
    writeFile(sshdConfig, sshdConfigText(dir, port, penaltiesOff), 0o644);
    runOk(SSHD, ["-t", "-f", sshdConfig]);
    writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`, 0o644);
    // -D: a direct child, so an early exit is seen at once. Not detached: a Ctrl-C to the test
    // run's process group stops sshd too.
    const child = spawn(SSHD, ["-D", "-f", sshdConfig, "-E", sshdLog], { stdio: "ignore" });
    sshdPid = child.pid;
    let exited: string | undefined;
    child.once("exit", (code, sig) => {
      exited = `sshd exited (code ${code}, signal ${sig})`;
    });
    child.once("error", (e) => {
      exited = `cannot spawn sshd: ${e.message}`;
    });
    child.unref();
    const log = () => (fs.existsSync(sshdLog) ? fs.readFileSync(sshdLog, "utf8").slice(-3000) : "(no sshd log)");
    // sshd writes its pidfile once it listens.
    while (!exited && Date.now() < deadline && !fs.existsSync(sshdPidFile)) await sleep(50);
    if (exited || !fs.existsSync(sshdPidFile))
      throw new Error(`test host: ${exited ?? "sshd did not start in time"} on port ${port}\n${log()}`);
    const info: TestHostInfo = { dir, host: "127.0.0.1", port, hostPublicKey, knownHostsFile, sshdLog, sshdPidFile, users };
    // Listening is not enough: a real key login must work for each user.
    for (const role of ROLES) {
      for (let r = sshRun(info, role, "true"); r.code !== 0; r = sshRun(info, role, "true")) {
        if (Date.now() > deadline) throw new Error(`test host: ssh login as ${users[role].name} failed: ${r.stderr}\n${log()}`);
        await sleep(200);
      }
    }
    writeFile(path.join(dir, "test-host.json"), `${JSON.stringify(info, null, 2)}\n`, 0o644);
    return info;
  } catch (e) {
    killSshd(sshdPid);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A free TCP port on 127.0.0.1 below the ephemeral range (32768+), so no outgoing connection
 * (ssh, terraform) can take it between this check and the bind of whoever it is for.
 */
export async function freeStablePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port in 20000-31999 on 127.0.0.1");
}

/** Stops sshd, kills every process of both users, removes the host dir. Users and homes stay. */
export function stopTestHost(info: TestHostInfo): void {
  killSshd(readPid(info.sshdPidFile));
  const errors: string[] = [];
  for (const role of ROLES) {
    try {
      killUserProcesses(info.users[role].name);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  // Never delete something that is not a host dir.
  if (path.basename(info.dir).startsWith("host-") && fs.existsSync(path.join(info.dir, "owner.pid"))) {
    fs.rmSync(info.dir, { recursive: true, force: true });
  }
  if (lockedDirs.delete(info.dir)) releaseHostLock();
  if (errors.length > 0) throw new Error(errors.join("\n"));
}

/** Kills the user's processes and deletes everything in its home but `.ssh`. */
export function resetUserHome(info: TestHostInfo, role: TestUserRole): void {
  const { name, home } = info.users[role];
  // Never let a corrupted info object point this at a real home.
  if (name !== TEST_USERS[role] || home !== `/home/${name}`) throw new Error(`test host: refusing to reset ${home} of ${name}`);
  killUserProcesses(name);
  for (const entry of fs.readdirSync(home)) if (entry !== ".ssh") fs.rmSync(path.join(home, entry), { recursive: true, force: true });
}

/**
 * Accepted SSH logins in the sshd log after byte `since`, in all and per user, and the `offset` to
 * pass as `since` next time (only complete lines are consumed). Throws when the log cannot be
 * read: a missing log is not "no session".
 */
export function countSshSessions(info: TestHostInfo, since = 0): { sessions: number; byUser: Record<string, number>; offset: number } {
  const buf = fs.readFileSync(info.sshdLog);
  const end = Math.max(since, buf.lastIndexOf(0x0a) + 1);
  const byUser: Record<string, number> = {};
  let sessions = 0;
  for (const [, user] of buf
    .subarray(since, end)
    .toString("utf8")
    .matchAll(/(?:^|: )Accepted \S+ for (\S+) from /gm)) {
    sessions++;
    byUser[user] = (byUser[user] ?? 0) + 1;
  }
  return { sessions, byUser, offset: end };
}

/** The current end of the sshd log: take it before an action, pass it to countSshSessions after. */
export const sshLogOffset = (info: TestHostInfo) => countSshSessions(info).offset;
