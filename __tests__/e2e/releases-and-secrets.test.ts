/**
 * Versioned releases and config files with secrets, on one deploy sequence of the jaws instance
 * (real Terraform, real SSH, real supervisord, real pip): a small real Python application
 * (testkit/demo-package.ts, built here with setuptools) installed from a find-links directory,
 * its two programs reading config files whose passwords come from CI variables (an env variable
 * and a file variable) that only the deploy's own processes read.
 *
 * v1 cold; v2 restarts exactly the release's programs and keeps v1; a v3 that crashes at start
 * fails the gate and is rolled back to v2 automatically; a v4 pip cannot install changes nothing;
 * a rotated secret restarts exactly the program whose file uses it; an unchanged re-deploy opens no
 * SSH session; a synth without the fingerprint key (a diff job) plans no change; a missing variable
 * fails naming it with nothing changed on the host; and no secret value is found in any output,
 * cdktf.out, state, plan, process command line or environment, or file others can read.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { askDemo, buildDemoWheels, DEMO_PACKAGE, DEMO_SCRIPT, sha256 } from "../../testkit/demo-package";
import { environ, procScan, restartedBetween, type Snapshot, snapshot } from "../../testkit/processes";
import { Project } from "../../testkit/project";
import { countSshSessions, freeStablePort, resetUserHome, sshLogOffset, type TestHostInfo } from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, shellLoop, type Variant } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { listFiles, onlyRestarted, timing } from "./support/fixture";

const { info, skipReason } = useTestHost();

const KEY_VARIABLE = "JAWS_SECRETS_FINGERPRINT_KEY";
const DB_VARIABLE = "DEMO_DB_PW";
const RMQ_VARIABLE = "DEMO_RMQ_PW_FILE";
const DIR = instanceDir("jaws");
const RELEASES = `${DIR}/releases/${DEMO_PACKAGE}`;

/** Values that would break an INI file or a shell command if they were not written as values. */
const DB_PASSWORDS = [`db-pa%ss'w;rd"1 #x`, `db-%(here)s;'rot"ated-2`];
const RMQ_PASSWORD = `rmq-se%cr't;"3`;

describe.skipIf(!info)(`releases and secrets (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-releases-"));
  fs.chmodSync(work, 0o755);
  const wheels = path.join(work, "wheels");
  const rmqFile = path.join(work, "rmq-password");
  // The CI job's variables: Terraform's environment, and the synth's (in-process: this process's).
  const ciVariables: Record<string, string> = {
    [KEY_VARIABLE]: `fp-key-${process.pid}-${Date.now()}`,
    [DB_VARIABLE]: DB_PASSWORDS[0],
    [RMQ_VARIABLE]: rmqFile,
  };
  const project = new Project(host, { env: ciVariables });
  const outputs: string[] = [];
  // The values, their base64 form (what the send script pipes to ssh) and as INI writes them (% doubled).
  const secretValues = [...DB_PASSWORDS, RMQ_PASSWORD].flatMap((v) => [v, Buffer.from(v).toString("base64"), v.replaceAll("%", "%%")]);
  let ports = { web: 0, worker: 0 };

  const setCi = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) {
        delete ciVariables[k];
        delete process.env[k];
      } else {
        ciVariables[k] = v;
        process.env[k] = v;
      }
    }
  };

  const variant = (version: string): Variant => {
    const v = baseline();
    const demo = (name: "web" | "worker") => ({
      command: [DEMO_SCRIPT, "--config", `${DIR}/config/${name}.conf`, "--name", name],
      startsecs: 1,
      releaseId: "demo",
      configFileIds: [name],
    });
    v.jaws.services = { ticker: { command: shellLoop("jaws-tick"), startsecs: 1 }, web: demo("web"), worker: demo("worker") };
    v.jaws.releases = {
      demo: {
        package: DEMO_PACKAGE,
        version,
        pipFindLinks: [wheels],
        pipNoIndex: true,
        pythonCommand: "/usr/bin/python3",
        keepReleases: 2,
      },
    };
    const conf = (file: string, port: number, secret: { envVariable: string } | { fileVariable: string }) => ({
      path: file,
      template: "[demo]\n; rendered by jaws-deploy\nport = {{port}}\npassword = {{secret.password}}\n",
      values: { port },
      secrets: { password: secret },
    });
    v.jaws.configFiles = {
      web: conf("config/web.conf", ports.web, { envVariable: DB_VARIABLE }),
      worker: conf("config/worker.conf", ports.worker, { fileVariable: RMQ_VARIABLE }),
    };
    v.jaws.options = { healthTimeoutSeconds: 8 };
    return v;
  };

  /** Synth + apply of the jaws stack; the output (or the error) is kept for the leak search. */
  const deploy = async (v: Variant): Promise<{ ok: boolean; output: string; ms: number }> => {
    const t0 = Date.now();
    try {
      const r = await project.deploy(v, { roles: ["jaws"] });
      outputs.push(r[0].output);
      return { ok: true, output: r[0].output, ms: Date.now() - t0 };
    } catch (e) {
      const output = (e as Error).message;
      outputs.push(output);
      return { ok: false, output, ms: Date.now() - t0 };
    }
  };

  const jaws = () => snapshot(undefined, ["jaws"]);
  const current = () => fs.readlinkSync(`${RELEASES}/current`);
  /** What a demo program answers (it may still be binding its port right after the gate). */
  const answer = async (name: "web" | "worker") => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        return await askDemo(ports[name]);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const key = (p: string) => `jaws ${GROUP}:${p}`;
  const pidOf = (s: Snapshot, p: string) => s.processes[key(p)].pid;

  afterAll(() => {
    setCi({ [KEY_VARIABLE]: undefined, [DB_VARIABLE]: undefined, [RMQ_VARIABLE]: undefined });
    resetUserHome(host, "jaws");
    project.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("v1 cold, v2 restarts exactly its programs, v3 crashing is rolled back, v4 uninstallable changes nothing", {
    timeout: 300_000,
  }, async () => {
    resetUserHome(host, "jaws");
    buildDemoWheels(wheels, [{ version: "1.0" }, { version: "2.0" }, { version: "3.0", crash: true }]);
    fs.writeFileSync(rmqFile, `${RMQ_PASSWORD}\n`, { mode: 0o600 });
    ports = { web: await freeStablePort(), worker: await freeStablePort() };
    setCi({ ...ciVariables });

    const v1 = await deploy(variant("1.0"));
    expect(v1.ok, v1.output).toBe(true);
    timing("releases: v1 cold deploy (venv built by pip)", v1.ms);
    expect(v1.output).toContain(`release ${DEMO_PACKAGE}==1.0: ready in`);
    expect(v1.output).toMatch(/config secrets: 2 value\(s\) stored/);
    expect(current()).toBe("1.0");
    expect(await answer("web")).toEqual({ name: "web", version: "1.0", passwordSha256: sha256(DB_PASSWORDS[0]) });
    expect(await answer("worker")).toEqual({ name: "worker", version: "1.0", passwordSha256: sha256(RMQ_PASSWORD) });
    const s1 = jaws();

    const v2 = await deploy(variant("2.0"));
    expect(v2.ok, v2.output).toBe(true);
    timing("releases: upgrade to v2", v2.ms);
    const s2 = jaws();
    expect(restartedBetween(s1, s2)).toEqual(onlyRestarted(key("web"), key("worker")));
    expect(current()).toBe("2.0");
    expect(fs.existsSync(`${RELEASES}/1.0/bin/${DEMO_SCRIPT}`), "v1 kept on disk").toBe(true);
    expect((await answer("web")).version).toBe("2.0");
    // The version is the only change: no secret was sent again, no config file changed.
    expect(v2.output).not.toMatch(/config secrets: .* stored/);
    expect(v2.output).toMatch(/config file .*web\.conf: unchanged/);

    const v3 = await deploy(variant("3.0"));
    expect(v3.ok, "a release that crashes at start fails the deploy").toBe(false);
    timing("releases: v3 fails its gate and is rolled back", v3.ms);
    expect(v3.output).toContain("failed its health gate");
    expect(v3.output).toContain("previous config restored and healthy");
    expect(v3.output).toContain(`release ${DEMO_PACKAGE}: current is 2.0`);
    const s3 = jaws();
    expect(current()).toBe("2.0");
    for (const p of ["web", "worker"]) {
      expect(s3.processes[key(p)].state, p).toBe("RUNNING");
      expect(pidOf(s3, p), `${p} restarted twice (v3, then back to v2)`).not.toBe(pidOf(s2, p));
    }
    expect(pidOf(s3, "ticker")).toBe(pidOf(s2, "ticker"));
    expect(await answer("web")).toEqual({ name: "web", version: "2.0", passwordSha256: sha256(DB_PASSWORDS[0]) });
    expect(JSON.parse(fs.readFileSync(`${DIR}/state/releases.json`, "utf8")).releases[0].version).toBe("2.0");

    const before4 = jaws();
    const v4 = await deploy(variant("4.0"));
    expect(v4.ok, "a version pip cannot install fails the deploy").toBe(false);
    expect(v4.output).toContain(`release ${DEMO_PACKAGE}==4.0 could not be installed; nothing running was changed`);
    expect(v4.output, "pip's own error is shown").toMatch(/No matching distribution found for jawsdemo==4\.0/);
    expect(jaws()).toEqual(before4);
    expect(current()).toBe("2.0");
    expect(fs.existsSync(`${RELEASES}/4.0`)).toBe(false);
  });

  test("a rotated secret restarts exactly the program whose file uses it; unchanged, nothing runs and no SSH session opens", {
    timeout: 120_000,
  }, async () => {
    const before = jaws();
    setCi({ [DB_VARIABLE]: DB_PASSWORDS[1] });
    const since = sshLogOffset(host);
    const r = await deploy(variant("2.0"));
    expect(r.ok, r.output).toBe(true);
    timing("secrets: rotation of one secret", r.ms);
    expect(countSshSessions(host, since).sessions, "one session sends the values, one deploys").toBe(2);
    const after = jaws();
    expect(restartedBetween(before, after)).toEqual(onlyRestarted(key("web")));
    expect(await answer("web")).toEqual({ name: "web", version: "2.0", passwordSha256: sha256(DB_PASSWORDS[1]) });
    expect(r.output).toMatch(/config file .*web\.conf: changed \(programs: web\)/);
    expect(r.output).toMatch(/config file .*worker\.conf: unchanged/);
    // Pruned to keepReleases (2): the newest two, never the current one; v1 went.
    expect(fs.readdirSync(RELEASES).sort()).toEqual(["2.0", "3.0", "current"]);

    const since2 = sshLogOffset(host);
    const again = await deploy(variant("2.0"));
    expect(again.ok, again.output).toBe(true);
    expect(countSshSessions(host, since2).sessions).toBe(0);
    expect(jaws()).toEqual(after);
  });

  test("without the fingerprint key (a diff job) the plan shows no change; a missing variable fails naming it, the host unchanged", {
    timeout: 120_000,
  }, async () => {
    const before = jaws();
    // Every file and its modification time, but the programs' logs (they write every second).
    const hostFiles = () =>
      listFiles(DIR)
        .filter((f) => !f.startsWith(`${DIR}/log/`))
        .map((f) => `${f} ${fs.lstatSync(f).mtimeMs}`);
    const hostBefore = hostFiles();
    const saved = { ...ciVariables };

    // The diff job: no key, no secret variables.
    setCi({ [KEY_VARIABLE]: undefined, [DB_VARIABLE]: undefined, [RMQ_VARIABLE]: undefined });
    project.synth(variant("2.0"));
    const plan = project.plan("jaws");
    outputs.push(plan.output);
    expect(plan.code, plan.output).toBe(0);

    // A deploy job that lacks a variable: synth fails naming it and the construct.
    setCi({ [KEY_VARIABLE]: saved[KEY_VARIABLE], [DB_VARIABLE]: saved[DB_VARIABLE] });
    const synthFailure = await deploy(variant("2.0"));
    expect(synthFailure.ok).toBe(false);
    expect(synthFailure.output).toContain(`CI file variable ${RMQ_VARIABLE} does not name a readable`);
    expect(synthFailure.output).toContain("jaws-testhost/supervisor/worker");

    // A first deploy (empty state) without the key and without a variable: the send script refuses
    // before it connects, so the deploy never runs.
    setCi({ [KEY_VARIABLE]: undefined, [DB_VARIABLE]: undefined, [RMQ_VARIABLE]: saved[RMQ_VARIABLE] });
    const fresh = new Project(host, { env: ciVariables });
    try {
      const since = sshLogOffset(host);
      fresh.synth(variant("2.0"));
      const r = fresh.apply("jaws");
      outputs.push(r.output);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(`CI variable(s) not set: ${DB_VARIABLE}; nothing was sent, the host is unchanged`);
      expect(countSshSessions(host, since).sessions).toBe(0);
    } finally {
      fresh.remove();
    }
    setCi(saved);
    expect(jaws()).toEqual(before);
    expect(hostFiles()).toEqual(hostBefore);
  });

  test("no secret value anywhere: outputs, cdktf.out, state, plan, processes' command lines and environments, files others can read", async () => {
    const places: string[] = [];
    const found: string[] = [];
    const search = (where: string, text: string | Buffer) => {
      places.push(where);
      const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
      for (const s of secretValues) if (buf.includes(Buffer.from(s))) found.push(`${where} holds a secret`);
    };
    outputs.forEach((o, i) => {
      search(`command output #${i + 1}`, o);
    });
    const show = project.terraform("jaws", ["show"]);
    search("terraform show", show.output);
    search("terraform plan", project.plan("jaws").output);
    for (const f of listFiles(project.outdir)) if (fs.statSync(f).isFile()) search(f, fs.readFileSync(f));
    for (const f of listFiles(path.join(project.dir, "state"))) if (fs.statSync(f).isFile()) search(f, fs.readFileSync(f));
    // Every process of the instance's user: the programs got their passwords from files only.
    const uid = host.users.jaws.uid;
    for (const p of procScan(() => true, uid)) {
      search(`/proc/${p.pid}/cmdline`, p.argv.join("\0"));
      search(`/proc/${p.pid}/environ`, Object.entries(environ(p.pid)).join("\0"));
    }
    // On the host, only files of mode 0600 in directories of mode 0700 may hold them.
    const holders: string[] = [];
    for (const f of listFiles(host.users.jaws.home)) {
      const st = fs.lstatSync(f);
      if (st.isDirectory() && f.startsWith(DIR)) expect((st.mode & 0o077).toString(8), `${f} is private`).toBe("0");
      if (!st.isFile()) continue;
      const text = fs.readFileSync(f);
      if (secretValues.some((s) => text.includes(Buffer.from(s)))) {
        holders.push(path.relative(DIR, f));
        expect((st.mode & 0o777).toString(8), `${f} holds a secret`).toBe("600");
      }
      places.push(f);
    }
    // The values store and the config files: the current passwords, nowhere else (rollback copies excepted).
    expect(holders.filter((h) => !h.startsWith(".deploy/previous/")).sort()).toEqual([
      "config/web.conf",
      "config/worker.conf",
      "secret/config-values",
    ]);
    console.info(`[leak search] ${places.length} places searched, ${found.length} hits`);
    expect(found).toEqual([]);
  });
});
