/**
 * The production defaults deployed for real, as far as this machine allows. One instance (jaws)
 * of the test site without the stand-ins the other e2e files use (no privateKeyFile, no
 * venvSystemSitePackages, no pipNoIndex, default python3, timeouts and control endpoint):
 *
 * - supervisor installed by pip into a venv that sees no system site packages, once from a PEP 503
 *   index (`pipIndexUrl`), once from a find-links directory (`pipFindLinks` + `pipNoIndex`);
 * - Terraform authenticates with the key loaded into a real ssh-agent (`agent = true`);
 * - `ensureCron` installs the entry with the real crontab(1), and a real cron daemon runs it: a
 *   supervisord killed with SIGKILL is started again by cron alone.
 *
 * What remains a stand-in, and why: PyPI is not reachable, so the index and the find-links
 * directory serve a wheel made from the supervisor 4.2.5 that Debian installs (testkit/wheel-index.ts);
 * the deploy resource is `terraform_data`, because the null provider cannot be downloaded here.
 * Without a cron daemon the cron test is skipped with the reason; under CI it fails.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { App } from "cdktf";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SupervisorInstanceProps } from "../../constructs";
import type { SiteDefinition } from "../../sites/site";
import { addSiteStacks } from "../../sites/stacks";
import { run, runOk } from "../../testkit/commands";
import { instanceState, processesMatching, procScan, supervisordPid } from "../../testkit/processes";
import { Project } from "../../testkit/project";
import { findExecutable, resetUserHome, runAsUser, TEST_USERS, type TestHostInfo } from "../../testkit/test-host";
import { baseline, DEPLOYMENT, GROUP, instanceDir, testSite } from "../../testkit/test-site";
import { startWheelIndex, type WheelIndex } from "../../testkit/wheel-index";
import { inCI, useTestHost } from "../host/use-test-host";

const { info, skipReason } = useTestHost();
const ROLE = "jaws";
const USER = TEST_USERS[ROLE];
const DIR = instanceDir(ROLE);
const VERSION = "4.2.5";

/** Options of testSite that are not the library's defaults. */
const STAND_INS = ["privateKeyFile", "venvSystemSitePackages", "pipNoIndex", "healthTimeoutSeconds", "lockTimeoutSeconds"];

/** The jaws instance of the test site with the library's defaults, plus `options`. */
function defaultsSite(host: TestHostInfo, options: Partial<SupervisorInstanceProps>): SiteDefinition {
  const site = testSite(host, baseline());
  const jaws = site.instances.filter((i) => i.name === ROLE);
  const defaults = (o: Partial<SupervisorInstanceProps> = {}) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !STAND_INS.includes(k)));
  return { ...site, pythonCommand: undefined, instances: jaws.map((i) => ({ ...i, options: { ...defaults(i.options), ...options } })) };
}

const cronDaemons = () => procScan((argv) => argv[0] === "/usr/sbin/cron" || argv[0] === "cron");
const crontabBinary = findExecutable("crontab");
const cronSkip = !crontabBinary
  ? "crontab(1) is not installed (Debian package cron)"
  : cronDaemons().length === 0
    ? "no cron daemon runs (.ci/run starts /usr/sbin/cron)"
    : undefined;
if (cronSkip && !inCI()) console.warn(`[e2e skipped] ensureCron with a real cron daemon: ${cronSkip}`);

/** The user's crontab as root reads it ("" when there is none). */
const crontabOf = (user: string) => run("crontab", ["-l", "-u", user]).stdout;

/** `cmd` run as the test user with the instance venv's Python (stdout; throws on failure). */
function venvPython(code: string): string {
  const r = runAsUser(ROLE, `${DIR}/venv/bin/python -c ${JSON.stringify(code)}`);
  if (r.code !== 0) throw new Error(`venv python failed (exit ${r.code}):\n${r.output}`);
  return r.stdout.trim();
}

describe.skipIf(!info)(`the production defaults (${skipReason ?? "real host, pip, ssh-agent, cron"})`, () => {
  const host = info as TestHostInfo;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-defaults-"));
  let index: WheelIndex;
  let agent: { sock: string; pid: number } | undefined;
  const projects: Project[] = [];

  beforeAll(async () => {
    // Its own directory: startWheelIndex makes it readable by the test user (find-links); the agent's stays private.
    index = await startWheelIndex(fs.mkdtempSync(path.join(os.tmpdir(), "jaws-wheels-")));
    // A real ssh-agent holding the instance user's key; Terraform gets only its socket.
    const out = runOk("ssh-agent", ["-s", "-a", path.join(scratch, "agent.sock")]).stdout;
    agent = { sock: /SSH_AUTH_SOCK=([^;]+);/.exec(out)?.[1] ?? "", pid: Number(/SSH_AGENT_PID=(\d+);/.exec(out)?.[1]) };
    runOk("ssh-add", [host.users[ROLE].privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: agent.sock } });
    resetUserHome(host, ROLE);
  });

  afterAll(async () => {
    // A cron entry left behind would start this instance behind the next test's back.
    if (crontabBinary) run("crontab", ["-r", "-u", USER]);
    resetUserHome(host, ROLE);
    for (const p of projects) p.remove();
    if (agent?.pid) process.kill(agent.pid, "SIGTERM");
    await index?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
    if (index) fs.rmSync(index.dir, { recursive: true, force: true });
  });

  /** Synthesizes the defaults site in a new project (in-process, the app's own stack builder) and applies it with the agent. */
  async function deploy(options: Partial<SupervisorInstanceProps>): Promise<{ project: Project; output: string }> {
    const project = new Project(host);
    projects.push(project);
    const app = new App({ outdir: project.outdir });
    addSiteStacks(app, defaultsSite(host, options), { deployment: DEPLOYMENT, deployResource: "terraform_data", stateBackend: "local" });
    app.synth();
    // No key file anywhere in the stack: Terraform's ssh-agent path.
    const resources = Object.values(
      (project.stackJson(ROLE).resource as { terraform_data: Record<string, { connection: object }> }).terraform_data,
    );
    expect(resources).toHaveLength(2);
    for (const r of resources) {
      expect(r.connection).toMatchObject({ agent: "true" });
      expect(r.connection).not.toHaveProperty("private_key");
    }
    const t0 = Date.now();
    // Asynchronous: the wheel index is served by this process.
    const r = await project.startTerraform(ROLE, ["apply", "-auto-approve", "-input=false"], { SSH_AUTH_SOCK: agent?.sock ?? "" }).done;
    console.info(`[timing] defaults: deploy (${Object.keys(options).join(", ")}): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.code, r.output).toBe(0);
    return { project, output: r.output };
  }

  /** supervisor came from our wheel, installed by pip into the venv, which sees nothing of the system's. */
  function expectInstalledByPip(): void {
    expect(fs.readFileSync(`${DIR}/venv/pyvenv.cfg`, "utf8")).toMatch(/^include-system-site-packages = false$/m);
    expect(venvPython("import sys; print(any(p.startswith('/usr/lib/python3/dist-packages') for p in sys.path))")).toBe("False");
    const show = runAsUser(ROLE, `${DIR}/venv/bin/python -m pip show -f supervisor`);
    expect(show.code, show.output).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^Version: ${VERSION.replace(/\./g, "\\.")}$`, "m"));
    expect(show.stdout).toMatch(new RegExp(`^Location: ${DIR}/venv(-${VERSION})?/lib/python3\\.\\d+/site-packages$`, "m"));
    // pip made the console scripts (the bootstrap writes its own only when they are missing).
    expect(show.stdout).toMatch(/^ {2}\.\.\/\.\.\/\.\.\/bin\/supervisord$/m);
    const dist = "import importlib.metadata as m; d = m.distribution('supervisor')";
    expect(venvPython(`${dist}; print(d.read_text('INSTALLER').strip())`)).toBe("pip");
    expect(venvPython(`${dist}; print(d.read_text('WHEEL'))`)).toContain("Generator: jaws-deploy testkit/wheel-index.ts");
    expect(venvPython("import supervisor; print(supervisor.__file__)")).toMatch(new RegExp(`^${DIR}/venv(-${VERSION})?/lib/`));
    // The venv's supervisord runs, and the programs under it.
    const pid = supervisordPid(ROLE);
    expect(pid, "supervisord pid").toBeGreaterThan(1);
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    expect(argv[0]).toMatch(new RegExp(`^${DIR}/venv(-${VERSION})?/bin/python`));
    expect(argv[1]).toBe(`${DIR}/venv/bin/supervisord`);
    expectProgramsUp();
  }

  function expectProgramsUp(): void {
    const states = Object.fromEntries(Object.entries(instanceState(ROLE).processes).map(([k, p]) => [k, `${p.state}/${p.exitstatus}`]));
    expect(states).toEqual({ [`${GROUP}:ticker`]: "RUNNING/0", [`${GROUP}:greeter`]: "RUNNING/0", [`${GROUP}:setup`]: "EXITED/0" });
  }

  let indexProject: Project | undefined;

  test("pipIndexUrl: pip installs supervisor from a PEP 503 index into the venv; the key comes from ssh-agent", async () => {
    const before = index.requests.length;
    const { project, output } = await deploy({ pipIndexUrl: index.indexUrl, ensureCron: true, ensureCronSchedule: "* * * * *" });
    indexProject = project;
    expect(output).toMatch(/bootstrap: supervisor 4\.2\.5 ready/);
    expect(index.requests.slice(before)).toEqual(
      expect.arrayContaining(["GET /simple/supervisor/ 200", `GET /files/${index.wheel.name} 200`]),
    );
    expectInstalledByPip();
  });

  test.skipIf(cronSkip && !inCI())(
    "ensureCron: the real crontab holds the entry and a real cron daemon restarts a killed supervisord",
    async () => {
      expect(indexProject, "the pipIndexUrl deploy ran").toBeDefined();
      expect(crontabBinary, "crontab(1)").toBeDefined();
      expect(cronDaemons().length, "cron daemons running").toBeGreaterThan(0);
      const entries = crontabOf(USER)
        .split("\n")
        .filter((l) => l.includes(`# jaws-deploy:${DIR}`));
      expect(entries).toEqual([`* * * * * ${DIR}/bin/ensure --quiet >>${DIR}/log/ensure.log 2>&1 # jaws-deploy:${DIR}`]);

      const killed = supervisordPid(ROLE) as number;
      expect(killed).toBeGreaterThan(1);
      const logBefore = fs.existsSync(`${DIR}/log/ensure.log`) ? fs.statSync(`${DIR}/log/ensure.log`).size : 0;
      const t0 = Date.now();
      process.kill(killed, "SIGKILL");
      // Nothing but cron runs the ensure script now: poll until a run has started supervisord and
      // ended (it waits for the programs' health), at most 150 s (cron runs it each minute).
      const ensureLog = () => (fs.existsSync(`${DIR}/log/ensure.log`) ? fs.readFileSync(`${DIR}/log/ensure.log`, "utf8") : "");
      const ensureRunning = () => procScan((argv) => argv.includes(`${DIR}/bin/ensure`)).length > 0;
      let restarted: number | undefined;
      while (Date.now() - t0 < 150_000) {
        const pid = supervisordPid(ROLE);
        const started = ensureLog().slice(logBefore).includes("supervisord was not running: started");
        if (pid !== undefined && pid !== killed && started && !ensureRunning()) {
          restarted = pid;
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      console.info(`[timing] defaults: cron restarted supervisord after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(restarted, `supervisord restarted by cron within 150 s; ensure.log:\n${ensureLog()}`).toBeDefined();
      expect(ensureLog().slice(logBefore)).not.toMatch(/ERROR/);
      // The ensure run waited for health: every program is up again, each loop exactly once.
      expectProgramsUp();
      expect(processesMatching(ROLE, "jaws-tick ").length).toBe(1);
    },
  );

  test("pipFindLinks + pipNoIndex: pip installs supervisor from a directory, without asking any index", async () => {
    // The index deploy's instance goes first, its cron entry with it (destroy removes it).
    if (indexProject) {
      const d = await indexProject.startTerraform(ROLE, ["destroy", "-auto-approve", "-input=false"], { SSH_AUTH_SOCK: agent?.sock ?? "" })
        .done;
      expect(d.code, d.output).toBe(0);
      if (crontabBinary) expect(crontabOf(USER)).not.toContain("# jaws-deploy:");
    }
    resetUserHome(host, ROLE);
    const before = index.requests.length;
    const { output } = await deploy({ pipFindLinks: [index.dir], pipNoIndex: true });
    expect(output).toMatch(/bootstrap: supervisor 4\.2\.5 ready/);
    expect(index.requests.slice(before)).toEqual([]);
    expectInstalledByPip();
  });
});
