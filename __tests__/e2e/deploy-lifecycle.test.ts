/**
 * Cold deploy, no-op deploy, one service changed, service added/removed,
 * instance-level change, health gate. Real Terraform over real SSH to the local test host, real
 * supervisord under the two test users.
 *
 * Each test starts from the baseline deployed (`atBaseline`): a no-op when the previous test left
 * it so, a deploy of the difference otherwise.
 */
import * as fs from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import type { JawsServiceOptions } from "../../constructs";
import {
  environ,
  instanceState,
  processesMatching,
  processOwner,
  restartedBetween,
  type Snapshot,
  snapshot,
} from "../../testkit/processes";
import { countSshSessions, freeStablePort, pidRunning, ROLES, runAsUser, sshLogOffset, type TestHostInfo } from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, oneShot, shellLoop, stackName } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import {
  crasher,
  expectBaselineUp,
  expectEachOnce,
  Fixture,
  hostFile,
  onlyRestarted,
  pidsOf,
  variantWith,
  waitFor,
} from "./support/fixture";

const { info, skipReason } = useTestHost();

describe.skipIf(!info)(`deploy lifecycle (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const fx = new Fixture(host);
  const atBaseline = () => fx.atBaseline();
  afterAll(() => fx.cleanup());

  test("cold deploy of both instances from nothing: venv, files, supervisord as its user, programs up, one-shot exited 0", async () => {
    fx.fromNothing();
    const results = await fx.project.deploy(baseline());
    for (const r of results) {
      expect(r.output).toMatch(/bootstrap: creating venv/);
      expect(r.output).toMatch(/Apply complete! Resources: 2 added, 0 changed, 0 destroyed/);
    }
    const s = snapshot();
    expectBaselineUp(s);
    for (const role of ROLES) {
      const user = host.users[role];
      const dir = instanceDir(role);
      // supervisord and every program run as the instance's own user.
      const sd = s.supervisord[role];
      expect(sd, `supervisord of ${role}`).toBeGreaterThan(1);
      expect(processOwner(sd as number)).toBe(user.uid);
      for (const [k, p] of Object.entries(s.processes)) if (k.startsWith(`${role} `) && p.pid) expect(processOwner(p.pid)).toBe(user.uid);
      // The venv, with Debian's supervisor 4.2.5 (no PyPI here).
      const v = runAsUser(role, `${dir}/venv/bin/python -c 'import importlib.metadata as m; print(m.version("supervisor"))'`);
      expect(v.stdout.trim()).toBe("4.2.5");
      expect(fs.readlinkSync(`${dir}/venv`)).toBe("venv-4.2.5");
      // Config and wrappers uploaded; the key made on the host, private.
      expect(hostFile(role, "supervisord.conf")).toContain(`[group:${GROUP}]`);
      for (const f of ["secret/key", "secret/auth.conf", "secret/supervisorctl.conf", "supervisord.conf"]) {
        expect((fs.statSync(`${dir}/${f}`).mode & 0o777).toString(8), f).toBe("600");
      }
      expect(fs.statSync(`${dir}/run/supervisor.sock`).uid).toBe(user.uid);
      for (const r of results) expect(r.output).not.toContain(fs.readFileSync(`${dir}/secret/key`, "utf8").trim());
    }
    // Wrappers really run the commands: the loops write their lines.
    await waitFor("ticker and greeter lines in their logs", () => {
      const log = (f: string) => hostFile("jaws", `log/${f}`);
      return /jaws-tick \d+/.test(log("ticker.out.log")) && log("greeter.out.log").includes("hello");
    });
    expect(hostFile("jaws", "log/setup.out.log")).toBe("jaws-setup-done\n");
    expect(hostFile("jtm", "log/deploy-worker.out.log")).toBe("jtm-deploy-worker-done\n");
  });

  test("no-op deploy: plan and cdktf diff show no changes, no ssh session, every PID kept", async () => {
    const before = await atBaseline();
    const sshStart = sshLogOffset(host);
    fx.project.synth(baseline());
    for (const role of ROLES) {
      const plan = fx.project.plan(role);
      expect(plan.code, plan.output).toBe(0);
      expect(plan.output).toMatch(/No changes/);
    }
    const results = await fx.project.deploy(baseline());
    for (const r of results) expect(r.output).toMatch(/Resources: 0 added, 0 changed, 0 destroyed/);
    // cdktf diff takes one stack: each of the two.
    for (const role of ROLES) {
      const diff = fx.project.cdktf(baseline(), ["diff", stackName(role)]);
      expect(diff.code, diff.output).toBe(0);
      expect(diff.output).toMatch(new RegExp(`${stackName(role)}\\s+No changes`));
      console.info(`cdktf diff ${stackName(role)} took ${diff.ms} ms`);
    }
    // Zero counts only if sshd's log is there to count from.
    expect(fs.existsSync(host.sshdLog)).toBe(true);
    expect(countSshSessions(host, sshStart).sessions).toBe(0);
    const after = snapshot();
    expect(pidsOf(after)).toEqual(pidsOf(before));
    expect(restartedBetween(before, after)).toEqual(onlyRestarted());
  });

  describe("one service changed: only its process restarts, every other PID of both instances is kept", () => {
    /** Deploys the baseline with one service changed; only its process restarted since `before`. */
    const changeOne = async (before: Snapshot, role: "jaws" | "jtm", name: string, change: Partial<JawsServiceOptions>) => {
      const results = await fx.project.deploy(variantWith((v) => (v[role].services[name] = { ...v[role].services[name], ...change })));
      const after = snapshot();
      expect(restartedBetween(before, after)).toEqual(onlyRestarted(`${role} ${GROUP}:${name}`));
      return { output: results.map((r) => r.output).join("\n"), after };
    };

    test("its command (wrapper script content); one SSH session, to that instance's user, no bundle left behind", async () => {
      const before = await atBaseline();
      const sshStart = sshLogOffset(host);
      const { output, after } = await changeOne(before, "jaws", "ticker", { command: shellLoop("jaws-tock") });
      // The test host's homes are 0755: the deploy says that Terraform's 0777 script sits where others can enter.
      expect(output).toContain(`[jaws-dev] WARNING: other users can enter ${host.users.jaws.home}, where Terraform puts the deploy script`);
      // Terraform uploads and runs the bundle as its remote-exec script over one connection.
      expect(countSshSessions(host, sshStart).byUser).toEqual({ [host.users.jaws.name]: 1 });
      // The bundle deleted itself; what Terraform leaves is an empty file (it blanks its script).
      for (const role of ROLES) {
        const home = host.users[role].home;
        const left = fs.readdirSync(home).filter((f) => f.startsWith(".jaws-deploy"));
        expect(
          left.filter((f) => fs.statSync(`${home}/${f}`).size > 0),
          home,
        ).toEqual([]);
      }
      expect(after.processes[`jaws ${GROUP}:ticker`].state).toBe("RUNNING");
      await waitFor("the new command's output", () => /jaws-tock \d+/.test(hostFile("jaws", "log/ticker.out.log")));
      expect(processesMatching("jaws", "jaws-tick ")).toEqual([]);
    });

    test("its environment (exported by the wrapper); no warning about a login directory others cannot enter", async () => {
      const before = await atBaseline();
      const home = host.users.jaws.home;
      const mode = fs.statSync(home).mode & 0o777;
      fs.chmodSync(home, 0o750);
      let changed: Awaited<ReturnType<typeof changeOne>>;
      try {
        changed = await changeOne(before, "jaws", "greeter", { environment: { GREETING: "bonjour" } });
      } finally {
        fs.chmodSync(home, mode);
      }
      expect(changed.output).not.toContain("WARNING: other users can enter");
      expect(environ(changed.after.processes[`jaws ${GROUP}:greeter`].pid).GREETING).toBe("bonjour");
    });

    test("only its wrapper script (locale), which supervisorctl update would not see", async () => {
      const before = await atBaseline();
      const confBefore = hostFile("jaws", "supervisord.conf");
      const { after } = await changeOne(before, "jaws", "greeter", { locale: "C.UTF-8" });
      expect(hostFile("jaws", "supervisord.conf")).toBe(confBefore);
      expect(environ(after.processes[`jaws ${GROUP}:greeter`].pid).LC_ALL).toBe("C.UTF-8");
    });

    test("its [program] section (environment= of a program without wrapper): the group is rebuilt in place", async () => {
      const before = await atBaseline();
      const { after } = await changeOne(before, "jtm", "poller", { environment: { GREETING: "jtm-2" } });
      expect(environ(after.processes[`jtm ${GROUP}:poller`].pid).GREETING).toBe("jtm-2");
    });
  });

  test("service added, then removed: it starts, then stops and leaves status; the others keep their PIDs", async () => {
    const before = await atBaseline();
    await fx.project.deploy(
      variantWith((v) => {
        v.jaws.services.extra = { command: shellLoop("jaws-extra"), startsecs: 1 };
        v.jaws.services["extra-once"] = oneShot("extra-once-done");
      }),
    );
    const added = snapshot();
    expect(restartedBetween(before, added)).toEqual({
      restarted: [],
      added: [`jaws ${GROUP}:extra`, `jaws ${GROUP}:extra-once`],
      removed: [],
      supervisordRestarted: [],
    });
    expect(added.processes[`jaws ${GROUP}:extra`].state).toBe("RUNNING");
    expect(added.processes[`jaws ${GROUP}:extra-once`]).toMatchObject({ state: "EXITED", exitstatus: 0 });
    const extraPid = added.processes[`jaws ${GROUP}:extra`].pid;

    // Back to the baseline: both removed (the jtm instance's resource is not touched at all).
    const results = await fx.project.deploy(baseline());
    expect(results[1].output).toMatch(/Resources: 0 added, 0 changed, 0 destroyed/);
    const removed = snapshot();
    expect(restartedBetween(added, removed)).toEqual({
      restarted: [],
      added: [],
      removed: [`jaws ${GROUP}:extra`, `jaws ${GROUP}:extra-once`],
      supervisordRestarted: [],
    });
    expect(pidsOf(removed)).toEqual(pidsOf(before));
    expect(pidRunning(extraPid)).toBe(false);
    expect(processesMatching("jaws", "jaws-extra")).toEqual([]);
    const status = runAsUser("jaws", `${instanceDir("jaws")}/bin/supervisorctl status`);
    expect(status.stdout).not.toMatch(/extra/);
    expect(status.stdout).toMatch(/ticker\s+RUNNING/);
  });

  describe("instance-level change: controlled restart of supervisord, every program comes back", () => {
    const expectControlledRestart = (before: Snapshot, after: Snapshot, role: "jaws" | "jtm", output: string) => {
      const other = role === "jaws" ? "jtm" : "jaws";
      const diff = restartedBetween(before, after);
      expect(diff.supervisordRestarted).toEqual([role]);
      expect(output).toMatch(/supervisord settings changed: controlled restart/);
      expect(output).toMatch(/shutting supervisord down/);
      // Every program of the instance restarted (one-shots ran again), none of the other instance.
      expect(diff.restarted).toEqual(Object.keys(before.processes).filter((k) => k.startsWith(`${role} `)));
      expect(diff.added).toEqual([]);
      expect(diff.removed).toEqual([]);
      for (const [k, p] of Object.entries(after.processes)) {
        if (k.startsWith(`${other} `))
          expect([p.pid, p.start, p.state]).toEqual([before.processes[k].pid, before.processes[k].start, before.processes[k].state]);
      }
      // The old supervisord is gone; no program runs twice.
      expect(pidRunning(before.supervisord[role] as number)).toBe(false);
      expectEachOnce("jaws", ["jaws-tick "]);
      expectEachOnce("jtm", ["jtm-work "]);
    };

    test("log level (jaws)", async () => {
      const before = await atBaseline();
      const [r] = await fx.project.deploy(variantWith((v) => (v.jaws.options = { loglevel: "debug" })));
      const after = snapshot();
      expectBaselineUp(after);
      expectControlledRestart(before, after, "jaws", r.output);
      await waitFor("debug lines in supervisord.log", () => / DEBG /.test(hostFile("jaws", "log/supervisord.log")));
    });

    test("minfds (jtm): the running supervisord's soft RLIMIT_NOFILE is raised to it", async () => {
      const before = await atBaseline();
      /** RLIMIT_NOFILE of a live process, read from /proc. */
      const nofile = (pid: number | undefined) => {
        const m = /^Max open files\s+(\d+)\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, "utf8"));
        if (!m) throw new Error(`no 'Max open files' in /proc/${pid}/limits`);
        return { soft: Number(m[1]), hard: Number(m[2]) };
      };
      // The baseline's supervisord has the host's soft limit (here the hard one). The deploy's shell
      // starts the new one with LOW (the preamble's ulimit): exactly WANTED, above LOW and supervisord's
      // default 1024 and within the hard limit, can only come from minfds.
      const LOW = 1024;
      const WANTED = 4096;
      const { hard } = nofile(before.supervisord.jtm);
      expect(hard, "the hard limit leaves room for the test").toBeGreaterThanOrEqual(WANTED);
      const [, r] = await fx.project.deploy(variantWith((v) => (v.jtm.options = { minfds: WANTED, shellPreamble: [`ulimit -Sn ${LOW}`] })));
      const after = snapshot();
      expectBaselineUp(after);
      expectControlledRestart(before, after, "jtm", r.output);
      expect(nofile(after.supervisord.jtm)).toEqual({ soft: WANTED, hard });
    });

    test("control endpoint unix socket -> inet 127.0.0.1 and back", async () => {
      const before = await atBaseline();
      const dir = instanceDir("jaws");
      const port = await freeStablePort();
      const [r] = await fx.project.deploy(variantWith((v) => (v.jaws.options = { inetPort: port })));
      const after = snapshot();
      expectBaselineUp(after);
      expectControlledRestart(before, after, "jaws", r.output);
      expect(fs.existsSync(`${dir}/run/supervisor.sock`)).toBe(false);
      expect(hostFile("jaws", "secret/supervisorctl.conf")).toContain(`serverurl=http://127.0.0.1:${port}`);
      // The port answers only with the instance's key.
      const ctl = runAsUser("jaws", `${dir}/bin/supervisorctl status ${GROUP}:ticker`);
      expect(ctl.stdout).toMatch(/RUNNING/);
      const anon = runAsUser("jaws", `${dir}/venv/bin/supervisorctl -s http://127.0.0.1:${port} status`);
      expect(anon.stdout + anon.stderr).toMatch(/401|Unauthorized/i);

      // And back to the unix socket.
      const [back] = await fx.project.deploy(baseline());
      const final = snapshot();
      expectBaselineUp(final);
      expectControlledRestart(after, final, "jaws", back.output);
      expect(fs.existsSync(`${dir}/run/supervisor.sock`)).toBe(true);
    });
  });

  test("health gate: a service that crashes at start fails the apply, named with status and log tail; others stay up, previous config restored", async () => {
    const before = await atBaseline();
    const confBefore = hostFile("jaws", "supervisord.conf");
    fx.project.synth(variantWith((v) => (v.jaws.services.crasher = crasher())));
    const r = fx.project.apply("jaws");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/health gate failed: jaws-dev:crasher did not start/);
    expect(r.output).toMatch(/jaws-dev:crasher\s+FATAL/); // the status table
    expect(r.output).toMatch(/jaws-dev:ticker\s+RUNNING/);
    expect(r.output).toMatch(/last stdout of jaws-dev:crasher ---[\s\S]*crasher: reading config/);
    expect(r.output).toMatch(/last stderr of jaws-dev:crasher ---[\s\S]*crasher: FATAL no such config file/);
    expect(r.output).toMatch(/rolling back to the previous config/);
    expect(r.output).toMatch(/previous config restored and healthy/);

    const after = snapshot();
    expect(restartedBetween(before, after)).toEqual(onlyRestarted());
    expect(Object.keys(instanceState("jaws").processes)).not.toContain(`${GROUP}:crasher`);
    expect(hostFile("jaws", "supervisord.conf")).toBe(confBefore);
    expect(fs.existsSync(`${instanceDir("jaws")}/bin/crasher.sh`)).toBe(false);

    // The failed resource is tainted: the next deploy of the good model replaces it, and the
    // destroy of the failed/older resources must not stop what it deployed.
    await fx.project.deploy(baseline());
    const healed = snapshot();
    expectBaselineUp(healed);
    expect(restartedBetween(before, healed).supervisordRestarted).toEqual([]);
    expect(fx.project.plan("jaws").code).toBe(0);
  });
});
