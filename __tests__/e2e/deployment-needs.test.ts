/**
 * What a deployment needs beyond its programs, deployed over real SSH to the test host (the jaws
 * instance only): login-shell wrappers whose preamble calls a `module` defined by the user's login
 * profile (as the deploy's bootstrap preamble does), the host's locale (this Debian host may lack
 * en_US.UTF-8), scratch directories with group, mode, setgid and default ACLs, a drop-in program of
 * another tool kept across our deploys and restarted when its own file changes, broken drop-ins
 * and an unreachable preflight endpoint refused with nothing changed, destroy keeping the directories.
 * One cold deploy; each later test changes one thing from where the previous one left the host.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { environ, instanceState, restartedBetween, type Snapshot, snapshot } from "../../testkit/processes";
import { freeStablePort, type TestHostInfo } from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, shellLoop, type Variant } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { Fixture, hostFile, pidsOf, timing, waitFor } from "./support/fixture";

const { info, skipReason } = useTestHost();

const localeKey = (l: string) => l.toLowerCase().replaceAll("-", "");
const HAS_EN_US = spawnSync("locale", ["-a"], { encoding: "utf8" })
  .stdout.split("\n")
  .some((l) => localeKey(l) === "en_us.utf8");
const EXPECTED_LOCALE = HAS_EN_US ? "en_US.UTF-8" : "C.UTF-8";
const HAS_SETFACL = spawnSync("sh", ["-c", "command -v setfacl && command -v getfacl"]).status === 0;

describe.skipIf(!info)(`what a deployment needs: wrappers, directories, drop-ins, preflight (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const user = host.users.jaws;
  const fx = new Fixture(host);
  const dropins = `${user.home}/dropins`;
  const cromwellConf = `${dropins}/cromwell.conf`;
  const inputs = `${user.home}/scratch/inputs`;
  const downloads = `${user.home}/scratch/downloads`;
  const jawsOnly = (s?: Snapshot) => s ?? snapshot(instanceState, ["jaws"]);
  let listener: net.Server;
  let openPort = 0;
  let closedPort = 0;

  /** A file of the test user (written as root). */
  const userFile = (file: string, text: string) => {
    fs.mkdirSync(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    fs.writeFileSync(file, text);
    for (const p of [file, file.slice(0, file.lastIndexOf("/"))]) fs.chownSync(p, user.uid, user.gid);
  };
  const cromwell = (marker: string) =>
    `[program:cromwell]\ncommand=/bin/sh -c 'while true; do echo ${marker}; sleep 1; done'\nstartsecs=1\n` +
    `stopasgroup=true\nkillasgroup=true\nredirect_stderr=true\nstdout_logfile=${dropins}/cromwell.log\n`;

  interface Changes {
    downloadsMode?: string;
    ticker?: string;
    redeployToken?: string;
    closedPreflight?: boolean;
  }
  /** The baseline's jaws instance with everything this file is about, and `c` changed. */
  const variant = (c: Changes = {}): Variant => {
    const v = baseline();
    v.jaws.options = {
      shellPreamble: ["module load fakepython"],
      directories: [
        { path: inputs, mode: "2770", group: user.name, defaultAcl: [`g:${user.name}:rwx`, "o::---"] },
        { path: downloads, mode: c.downloadsMode ?? "2775", group: user.name },
      ],
      includeFiles: [`${dropins}/*.conf`],
      preflight: [
        { host: "127.0.0.1", port: openPort, name: "local listener" },
        ...(c.closedPreflight ? [{ host: "127.0.0.1", port: closedPort, name: "closed port" }] : []),
      ],
      preflightTimeoutSeconds: 2,
      redeployToken: c.redeployToken,
    };
    if (c.ticker) v.jaws.services.ticker = { command: shellLoop(c.ticker), startsecs: 1 };
    v.jaws.services.login = {
      command: ["/bin/sh", "-c", 'while true; do echo "module=$LOADED_MODULE lc_all=$LC_ALL"; sleep 1; done'],
      startsecs: 1,
      loginShell: true,
      shellPreamble: ["module load fakepython"],
    };
    return v;
  };
  const deploy = async (v: Variant) => {
    const t0 = Date.now();
    const [r] = await fx.project.deploy(v, { roles: ["jaws"] });
    timing("deployment needs: deploy of the jaws stack", Date.now() - t0);
    return r;
  };
  const cromwellPid = () => instanceState("jaws").processes["cromwell:cromwell"]?.pid;
  const mode = (p: string) => (fs.statSync(p).mode & 0o7777).toString(8);

  beforeAll(async () => {
    fx.fromNothing();
    listener = net.createServer((c) => c.destroy());
    openPort = await freeStablePort();
    await new Promise<void>((ok) => listener.listen(openPort, "127.0.0.1", ok));
    closedPort = await freeStablePort();
    // A module command like Lmod's, which only the login profile defines; it logs who called it ($0).
    userFile(
      `${user.home}/.bash_profile`,
      'module() { [ "$1" = load ] && export LOADED_MODULE="$2"; echo "module $* from $0" >>"$HOME/module.log"; }\n',
    );
    userFile(cromwellConf, cromwell("cromwell-1"));
  });
  afterAll(() => {
    listener?.close();
    fx.cleanup();
  });

  test("cold deploy: preflight passes, directories made, login-shell wrapper with the profile's module and the host's locale, the drop-in program started", async () => {
    const r = await deploy(variant());
    expect(r.output).toContain(`preflight: local listener (127.0.0.1:${openPort}) answers`);
    // The bootstrap preamble (deploy script, not a login shell) and the wrapper both found `module`.
    await waitFor("login program running", () => instanceState("jaws").processes[`${GROUP}:login`]?.state === "RUNNING");
    const calls = fs.readFileSync(`${user.home}/module.log`, "utf8");
    expect(calls).toMatch(/^module load fakepython from \S+\/\.deploy\/incoming\/bin\/deploy$/m);
    expect(calls).toMatch(new RegExp(`^module load fakepython from ${instanceDir("jaws")}/bin/login\\.sh$`, "m"));
    const login = environ(instanceState("jaws").processes[`${GROUP}:login`].pid);
    expect([login.LOADED_MODULE, login.LC_ALL, login.LANG]).toEqual(["fakepython", EXPECTED_LOCALE, EXPECTED_LOCALE]);
    await waitFor("login's log line", () => hostFile("jaws", "log/login.out.log").includes(`module=fakepython lc_all=${EXPECTED_LOCALE}`));
    // The locale: one warning naming every program when the host lacks it; no program logs setlocale errors.
    if (!HAS_EN_US) {
      expect(r.output).toMatch(
        /WARNING: locale en_US\.UTF-8 is not installed on .*: programs ticker, greeter, setup, login run with C\.UTF-8 instead/,
      );
    }
    for (const f of fs.readdirSync(`${instanceDir("jaws")}/log`)) expect(hostFile("jaws", `log/${f}`), f).not.toMatch(/setlocale/);
    // Directories: group, mode with setgid, default ACLs.
    for (const [dir, m] of [
      [inputs, "2770"],
      [downloads, "2775"],
    ]) {
      expect(mode(dir), dir).toBe(m);
      expect(fs.statSync(dir).gid).toBe(user.gid);
      expect(fs.statSync(dir).uid).toBe(user.uid);
    }
    if (HAS_SETFACL) {
      const acl = spawnSync("getfacl", ["-p", inputs], { encoding: "utf8" }).stdout;
      expect(acl).toContain(`default:group:${user.name}:rwx`);
      expect(acl).toContain("default:other::---");
      expect(r.output).toContain(`directory ${inputs}: mode 2770, group ${user.name}, default ACL g:${user.name}:rwx,o::---`);
    } else {
      expect(r.output).toMatch(/WARNING: setfacl is not installed/);
    }
    // The drop-in program runs beside ours; the deploy recorded its file.
    expect(r.output).toContain(`drop-in ${cromwellConf} new`);
    await waitFor("cromwell running", () => instanceState("jaws").processes["cromwell:cromwell"]?.state === "RUNNING");
    expect(JSON.parse(hostFile("jaws", "state/dropins.json"))[cromwellConf].groups).toEqual(["cromwell"]);
  });

  test("a directory change is corrected by the deploy and restarts nothing", async () => {
    const before = jawsOnly();
    fs.chmodSync(inputs, 0o755);
    const r = await deploy(variant({ downloadsMode: "2770" }));
    expect(r.output).toContain("programs unchanged");
    expect([mode(inputs), mode(downloads)]).toEqual(["2770", "2770"]);
    expect(pidsOf(jawsOnly())).toEqual(pidsOf(before));
    expect(jawsOnly().supervisord).toEqual(before.supervisord);
  });

  const changed: Changes = { downloadsMode: "2770", ticker: "jaws-tick-2" };

  test("one of our programs changes: it restarts, the drop-in program keeps its PID", async () => {
    const before = jawsOnly();
    await deploy(variant(changed));
    const d = restartedBetween(before, jawsOnly());
    expect(d.restarted).toEqual([`jaws ${GROUP}:ticker`]);
    expect(d.supervisordRestarted).toEqual([]);
    expect(cromwellPid()).toBe(before.processes["jaws cromwell:cromwell"].pid);
  });

  test("its drop-in file changes: the drop-in program restarts with it, none of ours", async () => {
    const before = jawsOnly();
    userFile(cromwellConf, cromwell("cromwell-2"));
    // Nothing of ours changed: a redeploy token makes Terraform run the deploy.
    const r = await deploy(variant({ ...changed, redeployToken: "dropin-changed" }));
    expect(r.output).toContain(`drop-in ${cromwellConf} changed`);
    expect(r.output).toContain("stopping the programs of changed drop-ins: cromwell");
    await waitFor("cromwell running again", () => instanceState("jaws").processes["cromwell:cromwell"]?.state === "RUNNING");
    const d = restartedBetween(before, jawsOnly());
    expect(d.restarted).toEqual(["jaws cromwell:cromwell"]);
    expect(d.supervisordRestarted).toEqual([]);
    expect(fs.readFileSync(`/proc/${cromwellPid()}/cmdline`, "utf8")).toContain("cromwell-2");
  });

  test.each([
    ["a drop-in with broken syntax", "broken.conf", "[program:broken\ncommand=true\n", /the drop-in \S+\/broken\.conf does not parse/],
    [
      "a drop-in redefining one of our programs",
      "ours.conf",
      "[program:ticker]\ncommand=/bin/true\n",
      /the drop-in \S+\/ours\.conf redefines \[program:ticker\]/,
    ],
    ["a closed preflight port", "", "", /preflight: closed port \(127\.0\.0\.1:\d+\) is not reachable from this host within 2(\.0)?s/],
  ])("%s: the deploy fails naming it, nothing changed", (_, file, text, message) => {
    const before = jawsOnly();
    const conf = hostFile("jaws", "supervisord.conf");
    if (file) userFile(`${dropins}/${file}`, text);
    try {
      // A change of ours that would restart ticker, and with the closed port, a second endpoint.
      const v = variant({ ...changed, ticker: "jaws-tick-3", closedPreflight: !file });
      fx.project.synth(v);
      const r = fx.project.apply("jaws");
      timing("deployment needs: refused deploy", r.ms);
      expect(r.code, r.output).not.toBe(0);
      expect(r.output).toMatch(message);
      expect(hostFile("jaws", "supervisord.conf")).toBe(conf);
      expect(pidsOf(jawsOnly())).toEqual(pidsOf(before));
      expect(jawsOnly().supervisord).toEqual(before.supervisord);
    } finally {
      if (file) fs.rmSync(`${dropins}/${file}`);
    }
  });

  test("destroy stops the instance and its drop-in program, keeps the directories and says so", () => {
    const pid = cromwellPid() as number;
    const r = fx.project.destroy("jaws");
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`destroy: the deployment's directories are kept: ${inputs} ${downloads}`);
    expect([mode(inputs), mode(downloads)]).toEqual(["2770", "2770"]);
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    // Never written or deleted by the deploy.
    expect(fs.readFileSync(cromwellConf, "utf8")).toBe(cromwell("cromwell-2"));
  });
});
