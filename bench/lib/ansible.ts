/**
 * The strongest peers: Debian's Ansible running bench/ansible/deploy.yml (an idiomatic playbook:
 * templates, handlers, community.general.supervisorctl), tuned (ControlPersist, pipelining, no
 * facts) and with Mitogen (Debian's ansible-mitogen, strategy mitogen_linear), against the same
 * test host, users and programs as our deploy. Each user gets its own supervisord in
 * ~/ansible-supervisor/<role>-dev (Debian's supervisord, as the JAWS script's baseline uses).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { JawsServiceOptions } from "../../constructs";
import { run, start } from "../../testkit/commands";
import { type SupervisorState, supervisorState } from "../../testkit/processes";
import { ROLES, runAsUser, type TestHostInfo, type TestUserRole } from "../../testkit/test-host";
import { DEPLOYMENT, type Variant } from "../../testkit/test-site";
import { log } from "./table";

const PLAYBOOK_DIR = path.resolve(__dirname, "..", "ansible");
const MITOGEN_STRATEGIES = "/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy";
export type AnsibleMode = "tuned" | "mitogen";
export const ANSIBLE_PACKAGES = ["ansible", "ansible-mitogen"];

/** Why the peers cannot run here (empty: they can). */
export function ansibleMissing(): string[] {
  const missing: string[] = [];
  if (run("ansible-playbook", ["--version"]).code !== 0) missing.push("ansible-playbook");
  if (!fs.existsSync(path.join(MITOGEN_STRATEGIES, "mitogen_linear.py"))) missing.push(`${MITOGEN_STRATEGIES}/mitogen_linear.py`);
  return missing;
}

/**
 * Installs Debian's ansible and ansible-mitogen when they are missing (the benchmark runs as root
 * for its test host anyway); returns what is still missing (empty: the peers can run).
 */
export function installAnsible(): string[] {
  if (ansibleMissing().length === 0) return [];
  log(`  installing ${ANSIBLE_PACKAGES.join(" ")} (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...ANSIBLE_PACKAGES], { env, timeoutMs: 600_000 });
  // A fresh machine has no package lists yet.
  if (install().code !== 0) {
    run("apt-get", ["update", "-qq"], { env, timeoutMs: 600_000 });
    const r = install();
    if (r.code !== 0) log(`  apt-get install failed:\n${r.output.trim().split("\n").slice(-10).join("\n")}`);
  }
  return ansibleMissing();
}

/** ansible-core, the ansible package (collections) and Mitogen, as Debian installed them. */
export function ansibleVersions(): string {
  const core = /ansible(?:-playbook)? \[core ([^\]]+)\]/.exec(run("ansible-playbook", ["--version"]).stdout)?.[1] ?? "unknown";
  const deb = (pkg: string) => run("dpkg-query", ["-W", "-f=${Version}", pkg]).stdout.trim() || "unknown";
  return `ansible-core ${core}, ansible ${deb("ansible")} (community.general), ansible-mitogen ${deb("ansible-mitogen")}`;
}

export const ansibleDir = (info: TestHostInfo, role: TestUserRole) => `${info.users[role].home}/ansible-supervisor/${role}-${DEPLOYMENT}`;
const confOf = (info: TestHostInfo, role: TestUserRole) => `${ansibleDir(info, role)}/supervisord.conf`;

/** What the playbook gets per program: the bench's service options, as plain data. */
function programVars(services: Record<string, JawsServiceOptions>) {
  return Object.fromEntries(
    Object.entries(services).map(([name, s]) => [
      name,
      { command: s.command, startsecs: s.startsecs ?? 1, one_shot: s.oneShot ?? false, environment: s.environment ?? {} },
    ]),
  );
}

export class AnsiblePeer {
  private runs = 0;

  /**
   * @param info the test host as the peers reach it (the link's port and a known_hosts pinning
   * the host key at that port)
   * @param root a private temp dir
   */
  constructor(
    private readonly info: TestHostInfo,
    private readonly root: string,
  ) {
    fs.mkdirSync(root, { recursive: true });
  }

  /** One `ansible-playbook` run of `variant`, its output lines stamped. */
  async deploy(mode: AnsibleMode, variant: Variant) {
    const n = ++this.runs;
    const inventory = path.join(this.root, `inventory-${n}.json`);
    const hosts = Object.fromEntries(
      ROLES.map((role) => [
        role,
        {
          ansible_host: this.info.host,
          ansible_port: this.info.port,
          ansible_user: this.info.users[role].name,
          ansible_ssh_private_key_file: this.info.users[role].privateKeyPath,
          instance_dir: ansibleDir(this.info, role),
          programs: programVars(variant[role].services),
        },
      ]),
    );
    const vars = { supervisord: "/usr/bin/supervisord", supervisorctl: "/usr/bin/supervisorctl" };
    fs.writeFileSync(inventory, JSON.stringify({ all: { vars, children: { instances: { hosts } } } }, null, 2));
    // A fresh ControlPath directory per run: each run pays its own logins, as each CI job does.
    const controlDir = path.join(this.root, `cp-${n}`);
    fs.mkdirSync(controlDir, { mode: 0o700 });
    const pinned = [
      "-F /dev/null",
      `-o UserKnownHostsFile=${this.info.knownHostsFile} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes`,
      "-o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes",
    ];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ANSIBLE_CONFIG: path.join(PLAYBOOK_DIR, "ansible.cfg"),
      ANSIBLE_LOCAL_TEMP: path.join(this.root, "tmp"),
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_FORCE_COLOR: "0",
      // Mitogen keeps one connection per host itself; ControlMaster is for the ssh connection plugin.
      ANSIBLE_SSH_ARGS: [...pinned, ...(mode === "tuned" ? ["-o ControlMaster=auto -o ControlPersist=60s"] : [])].join(" "),
      ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
      ...(mode === "mitogen" ? { ANSIBLE_STRATEGY_PLUGINS: MITOGEN_STRATEGIES, ANSIBLE_STRATEGY: "mitogen_linear" } : {}),
    };
    const t0 = Date.now();
    const r = await start("ansible-playbook", ["-i", inventory, path.join(PLAYBOOK_DIR, "deploy.yml")], {
      cwd: PLAYBOOK_DIR,
      env,
      timeoutMs: 600_000,
    }).done;
    // Untimed: the masters ControlPersist leaves behind (a CI job's end would take them down).
    for (const socket of fs.readdirSync(controlDir)) {
      run("ssh", ["-F", "/dev/null", "-o", `ControlPath=${path.join(controlDir, socket)}`, "-O", "exit", "x"], { timeoutMs: 10_000 });
    }
    return { r, lines: r.lines, t0 };
  }

  /** What the peer's supervisord runs, read locally as the user (no SSH session). */
  state(role: TestUserRole): SupervisorState {
    const conf = confOf(this.info, role);
    return fs.existsSync(conf) ? supervisorState(role, conf) : { supervisord: 0, processes: {} };
  }

  /** Untimed: the peer's supervisords shut down and their directories removed (the next cold run starts from nothing). */
  remove(): void {
    for (const role of ROLES) {
      const conf = confOf(this.info, role);
      if (fs.existsSync(conf)) runAsUser(role, `/usr/bin/supervisorctl -c ${conf} shutdown >/dev/null 2>&1; true`);
      const pidfile = `${ansibleDir(this.info, role)}/supervisord.pid`;
      for (const deadline = Date.now() + 30_000; fs.existsSync(pidfile) && Date.now() < deadline; ) run("sleep", ["0.2"]);
      fs.rmSync(path.dirname(ansibleDir(this.info, role)), { recursive: true, force: true });
      // The remote temp dir Ansible leaves in the home.
      fs.rmSync(`${this.info.users[role].home}/.ansible`, { recursive: true, force: true });
    }
  }
}
