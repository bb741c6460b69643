/**
 * What runs on the test host, read locally as root or as the instance's user (no SSH session):
 * supervisord's own view of an instance (XML-RPC with the instance's key), processes by user,
 * owner, command line or environment. A read that fails throws: "nothing found" is only said when
 * the reading worked.
 */
import * as fs from "node:fs";
import { HOST_FILES, hostPath } from "../constructs/host-layout";
import { readIfThere, runAsUser, SYSTEM_PYTHON, TEST_USERS, type TestUserRole, userProcesses } from "./test-host";
import { instanceDir } from "./test-site";

export interface ProcessState {
  state: string;
  pid: number;
  exitstatus: number;
  /** When supervisord last started it (epoch seconds): changes when a one-shot runs again. */
  start: number;
}

export interface SupervisorState {
  supervisord: number;
  /** By "group:process". */
  processes: Record<string, ProcessState>;
}

/** Reads the [supervisorctl] section (endpoint, user, key) of the file given, then asks supervisord. */
const STATE_SCRIPT = `
import configparser, json, sys, xmlrpc.client
from supervisor import xmlrpc as sx
conf = configparser.RawConfigParser()
if not conf.read(sys.argv[1]):
    sys.exit("cannot read %s" % sys.argv[1])
s = conf["supervisorctl"]
server = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=sx.SupervisorTransport(s.get("username"), s.get("password"), s["serverurl"]))
print(json.dumps({"supervisord": server.supervisor.getPID(), "processes": {"%s:%s" % (i["group"], i["name"]): {
    "state": i["statename"], "pid": i["pid"], "exitstatus": i["exitstatus"], "start": i["start"]} for i in server.supervisor.getAllProcessInfo()}}))
`;

/**
 * What a supervisord runs, asked as `role` with a Python that has `supervisor`, through the client
 * config `ctlConf` (an instance's secret/supervisorctl.conf, or any supervisord.conf with a
 * [supervisorctl] section). Throws when supervisord cannot be asked.
 */
export function supervisorState(role: TestUserRole, ctlConf: string, python = SYSTEM_PYTHON): SupervisorState {
  const r = runAsUser(role, `${python} - ${ctlConf}`, { input: STATE_SCRIPT });
  if (r.code !== 0) throw new Error(`supervisor state of ${role} (${ctlConf}) failed (exit ${r.code}): ${r.output}`);
  return JSON.parse(r.stdout) as SupervisorState;
}

/** One deployed instance of the test site, through its own venv and key. */
export function instanceState(role: TestUserRole, deployment?: string): SupervisorState {
  const dir = instanceDir(role, deployment);
  return supervisorState(role, hostPath(dir, HOST_FILES.supervisorctlConf), hostPath(dir, HOST_FILES.venvPython));
}

/** {"group:process": pid (0 when not running)} of a deployed instance. */
export const pidsByProgram = (role: TestUserRole, deployment?: string): Record<string, number> =>
  Object.fromEntries(Object.entries(instanceState(role, deployment).processes).map(([k, p]) => [k, p.pid]));

/** Every process of both instances, keyed "<role> <group>:<process>", plus each supervisord's PID. */
export interface Snapshot {
  supervisord: Partial<Record<TestUserRole, number>>;
  processes: Record<string, ProcessState>;
}

export function snapshot(
  read: (role: TestUserRole) => SupervisorState = instanceState,
  roles: readonly TestUserRole[] = ["jaws", "jtm"],
): Snapshot {
  const s: Snapshot = { supervisord: {}, processes: {} };
  for (const role of roles) {
    const state = read(role);
    s.supervisord[role] = state.supervisord;
    for (const [name, p] of Object.entries(state.processes)) s.processes[`${role} ${name}`] = p;
  }
  return s;
}

/**
 * What changed between two snapshots: processes whose PID or start time differs (a one-shot
 * that ran again has a new start time), added and removed ones, supervisords restarted.
 */
export function restartedBetween(before: Snapshot, after: Snapshot) {
  const restarted = Object.entries(after.processes)
    .filter(([k, a]) => k in before.processes && (a.pid !== before.processes[k].pid || a.start !== before.processes[k].start))
    .map(([k]) => k);
  return {
    restarted: restarted.sort(),
    added: Object.keys(after.processes).filter((k) => !(k in before.processes)),
    removed: Object.keys(before.processes).filter((k) => !(k in after.processes)),
    supervisordRestarted: (Object.keys(after.supervisord) as TestUserRole[]).filter((r) => before.supervisord[r] !== after.supervisord[r]),
  };
}

/** The PID in an instance's supervisord pidfile if that process lives; undefined when there is no pidfile. */
export function supervisordPid(role: TestUserRole, deployment?: string): number | undefined {
  const dir = instanceDir(role, deployment);
  if (!fs.existsSync(dir)) throw new Error(`no instance directory ${dir}`);
  const pid = Number.parseInt(readIfThere(`${dir}/run/supervisord.pid`) ?? "", 10);
  return pid > 1 && processOwner(pid) !== undefined ? pid : undefined;
}

/** Live processes of the test user whose command line contains `text`. */
export const processesMatching = (role: TestUserRole, text: string) => userProcesses(TEST_USERS[role]).filter((p) => p.cmd.includes(text));

/** Owner (uid) of a live process; undefined when it is gone. */
export const processOwner = (pid: number): number | undefined => fs.statSync(`/proc/${pid}`, { throwIfNoEntry: false })?.uid;

/** Environment of a live process (read as root). */
export function environ(pid: number): Record<string, string> {
  const text = readIfThere(`/proc/${pid}/environ`);
  if (text === undefined) throw new Error(`process ${pid} is gone`);
  return Object.fromEntries(
    text
      .split("\0")
      .filter((kv) => kv.includes("="))
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

/** Processes whose argv passes `match` (of the user `uid` when given), read from /proc: fast enough to poll. */
export function procScan(match: (argv: string[]) => boolean, uid?: number): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const name of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    if (uid !== undefined && processOwner(Number(name)) !== uid) continue;
    const argv = readIfThere(`/proc/${name}/cmdline`)?.split("\0").filter(Boolean);
    if (argv && argv.length > 0 && match(argv)) out.push({ pid: Number(name), argv });
  }
  return out;
}
