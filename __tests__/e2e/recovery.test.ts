/**
 * Recovery after supervisord was killed, after its venv was wiped, after
 * the whole instance directory was deleted, through the ensure script and through the next
 * deploy. "Everything back" includes: no program runs twice (a killed supervisord leaves its
 * programs running; a directory wiped under a live supervisord makes it unreachable).
 */
import * as fs from "node:fs";
import { afterAll, describe, expect, onTestFinished, test } from "vitest";
import { run } from "../../testkit/commands";
import { processesMatching, processOwner, restartedBetween, type Snapshot, snapshot } from "../../testkit/processes";
import { findExecutable, pidRunning, runAsUser, sshRun, type TestHostInfo, type TestUserRole } from "../../testkit/test-host";
import { GROUP, instanceDir, shellLoop, type Variant } from "../../testkit/test-site";
import { inCI, useTestHost } from "../host/use-test-host";
import { expectBaselineUp, expectEachOnce, Fixture, hostFile, pidsOf, variantWith, waitFor } from "./support/fixture";

const { info, skipReason } = useTestHost();

describe.skipIf(!info)(`recovery (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const fx = new Fixture(host);
  afterAll(() => fx.cleanup());

  /** SIGKILL, as the OOM killer or a node crash would: its programs are left running. */
  async function killSupervisord(s: Snapshot, role: TestUserRole): Promise<void> {
    const pid = s.supervisord[role] as number;
    process.kill(pid, "SIGKILL");
    await waitFor(`supervisord ${pid} gone`, () => !pidRunning(pid));
  }
  const livePids = (s: Snapshot, role: TestUserRole) =>
    Object.entries(s.processes)
      .filter(([k, p]) => k.startsWith(`${role} `) && p.pid > 0)
      .map(([, p]) => p.pid);

  test("supervisord killed: bin/ensure (over ssh) starts it again, its orphaned programs are replaced, none runs twice", async () => {
    const before = await fx.atBaseline();
    await killSupervisord(before, "jaws");
    const orphans = livePids(before, "jaws");
    expect(orphans.every((p) => processOwner(p) === host.users.jaws.uid)).toBe(true); // still running

    const r = sshRun(host, "jaws", `${instanceDir("jaws")}/bin/ensure`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stopping programs left running by a dead supervisord/);
    expect(r.stdout).toMatch(/supervisord was not running: started/);
    expect(r.stdout).toMatch(/health: 3 process\(es\) up/);

    const after = snapshot();
    expectBaselineUp(after);
    for (const p of orphans) expect(pidRunning(p), `orphan ${p}`).toBe(false);
    expectEachOnce("jaws", ["jaws-tick ", "GREETING"]);
    // The other instance was not touched.
    expect(restartedBetween(before, after).restarted.filter((k) => k.startsWith("jtm "))).toEqual([]);

    // Idempotent: a second run changes nothing.
    const again = sshRun(host, "jaws", `${instanceDir("jaws")}/bin/ensure`);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/supervisord is running/);
    expect(pidsOf(snapshot())).toEqual(pidsOf(after));
  });

  test("supervisord killed: the next deploy starts it again with the new model, none runs twice", async () => {
    const before = await fx.atBaseline();
    await killSupervisord(before, "jtm");
    await fx.project.deploy(
      variantWith((v) => {
        v.jtm.services.worker = { ...v.jtm.services.worker, command: shellLoop("jtm-work-v2") };
      }),
    );
    const after = snapshot();
    expect(after.processes[`jtm ${GROUP}:worker`].state).toBe("RUNNING");
    expect(after.processes[`jtm ${GROUP}:poller`].state).toBe("RUNNING");
    expect(after.processes[`jtm ${GROUP}:deploy-worker`]).toMatchObject({ state: "EXITED", exitstatus: 0 });
    for (const p of livePids(before, "jtm")) expect(pidRunning(p), `orphan ${p}`).toBe(false);
    expect(processesMatching("jtm", "jtm-work ")).toEqual([]);
    expectEachOnce("jtm", ["jtm-work-v2 ", "GREETING"]);
    // jaws untouched.
    expect(restartedBetween(before, after).restarted.filter((k) => k.startsWith("jaws "))).toEqual([]);
  });

  test("maintenance wiped the venv and killed supervisord: bin/ensure re-bootstraps and starts everything", async () => {
    const before = await fx.atBaseline();
    const dir = instanceDir("jtm");
    await killSupervisord(before, "jtm");
    fs.rmSync(`${dir}/venv`, { force: true });
    fs.rmSync(`${dir}/venv-4.2.5`, { recursive: true, force: true });

    const r = sshRun(host, "jtm", `${dir}/bin/ensure`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bootstrap: creating venv/);
    expect(r.stdout).toMatch(/supervisord was not running: started/);
    const after = snapshot();
    expectBaselineUp(after);
    expect(fs.readlinkSync(`${dir}/venv`)).toBe("venv-4.2.5");
    for (const p of livePids(before, "jtm")) expect(pidRunning(p), `orphan ${p}`).toBe(false);
    expectEachOnce("jtm", ["jtm-work ", "GREETING"]);
  });

  test("instance directory deleted under a running supervisord: the next deploy restores it, the unreachable supervisord is stopped", async () => {
    const before = await fx.atBaseline();
    const dir = instanceDir("jaws");
    const oldKey = hostFile("jaws", "secret/key");
    fs.rmSync(dir, { recursive: true, force: true });
    // Still running, but nothing can reach it any more (socket and key are gone).
    expect(processOwner(before.supervisord.jaws as number)).toBe(host.users.jaws.uid);

    const [r] = await fx.project.deploy(
      variantWith((v) => {
        v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-tick-v2") };
      }),
    );
    expect(r.output).toMatch(/bootstrap: creating venv/);
    expect(r.output).toMatch(/stopping supervisord of this instance that cannot be reached/);
    const after = snapshot();
    expect(after.supervisord.jaws).not.toBe(before.supervisord.jaws);
    expect(pidRunning(before.supervisord.jaws as number)).toBe(false);
    for (const p of livePids(before, "jaws")) expect(pidRunning(p), `old program ${p}`).toBe(false);
    expect(after.processes[`jaws ${GROUP}:ticker`].state).toBe("RUNNING");
    expect(after.processes[`jaws ${GROUP}:greeter`].state).toBe("RUNNING");
    expect(after.processes[`jaws ${GROUP}:setup`]).toMatchObject({ state: "EXITED", exitstatus: 0 });
    expectEachOnce("jaws", ["jaws-tick-v2 ", "GREETING"]);
    expect(hostFile("jaws", "secret/key")).not.toBe(oldKey);
  });

  test("instance directory deleted, model unchanged: a forced re-deploy (terraform apply -replace) restores it", async () => {
    const before = await fx.atBaseline();
    const dir = instanceDir("jtm");
    fs.rmSync(dir, { recursive: true, force: true });
    // Terraform cannot see the loss: the plan is empty.
    expect(fx.project.plan("jtm").code).toBe(0);

    const addr = fx.project
      .terraform("jtm", ["state", "list"])
      .output.split("\n")
      .find((l) => l.startsWith("terraform_data."));
    expect(addr).toBeDefined();
    const r = fx.project.terraform("jtm", ["apply", "-auto-approve", "-input=false", `-replace=${addr}`]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/1 added, 0 changed, 1 destroyed/);
    // Only the deploy resource is replaced; the stop lives on the instance resource, so nothing is stopped.
    expect(r.output).not.toMatch(/destroy: stopping/);
    const after = snapshot();
    expectBaselineUp(after);
    expect(after.supervisord.jtm).not.toBe(before.supervisord.jtm);
    for (const p of livePids(before, "jtm")) expect(pidRunning(p), `old program ${p}`).toBe(false);
    expectEachOnce("jtm", ["jtm-work ", "GREETING"]);
    expect(fx.project.plan("jtm").code).toBe(0);

    // A plain destroy afterwards does stop it.
    const d = fx.project.destroy("jtm");
    expect(d.code, d.output).toBe(0);
    await waitFor("no jtm process left", () => processesMatching("jtm", "").length === 0);
  });

  // The real crontab(1) (Debian's cron package), not a stand-in; defaults.test.ts has a real cron daemon run the entry.
  const crontab = findExecutable("crontab");
  test.skipIf(!crontab && !inCI())(
    "ensureCron: one marked entry in the user's real crontab (idempotent), whose command restores a killed supervisord; destroy removes it",
    async () => {
      expect(crontab, "crontab(1) is installed (Debian package cron)").toBeDefined();
      await fx.atBaseline();
      const user = host.users.jaws;
      const dir = instanceDir("jaws");
      // An entry left by a failed run would let cron start this instance behind later tests' backs.
      onTestFinished(() => void run("crontab", ["-r", "-u", user.name]));
      const cron = (change: (v: Variant) => void = () => {}) =>
        variantWith((v) => {
          v.jaws.options = { ensureCron: true };
          change(v);
        });
      /** The user's crontab as root reads it ("" when there is none). */
      const table = () => {
        const r = run("crontab", ["-l", "-u", user.name]);
        if (r.code !== 0 && !/no crontab for/.test(r.stderr)) throw new Error(`crontab -l -u ${user.name}: ${r.output}`);
        return r.stdout;
      };

      const ticker = (marker: string) => (v: Variant) =>
        (v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop(marker) });
      // ensureCron alone: the flag is only in bin/deploy, which the deploy id covers.
      const [first] = await fx.project.deploy(cron());
      expect(first.output).toMatch(/crontab: ensure script scheduled \(\*\/5 \* \* \* \*\)/);
      // A second deploy (with a program change) keeps exactly one entry.
      const [second] = await fx.project.deploy(cron(ticker("jaws-cron")));
      expect(second.output).not.toMatch(/crontab: ensure script scheduled/);
      const lines = table()
        .split("\n")
        .filter((l) => l && !l.startsWith("#"));
      expect(lines).toEqual([`*/5 * * * * ${dir}/bin/ensure --quiet >>${dir}/log/ensure.log 2>&1 # jaws-deploy:${dir}`]);

      // What cron runs, with cron's bare environment, after supervisord was killed.
      const s = snapshot();
      await killSupervisord(s, "jaws");
      const command = lines[0].split(" ").slice(5).join(" ");
      const r = runAsUser("jaws", `env -i HOME=${user.home} PATH=/usr/bin:/bin SHELL=/bin/sh /bin/sh -c '${command}'`);
      expect(r.code, r.stderr).toBe(0);
      expect(hostFile("jaws", "log/ensure.log")).toMatch(/supervisord was not running: started/);
      const after = snapshot();
      expect(after.processes[`jaws ${GROUP}:ticker`].state).toBe("RUNNING");
      expectEachOnce("jaws", ["jaws-cron ", "GREETING"]);

      const d = fx.project.destroy("jaws");
      expect(d.code, d.output).toBe(0);
      expect(d.output).toMatch(/crontab: ensure entry removed/);
      expect(table()).not.toContain("jaws-deploy:");
      expect(
        table()
          .split("\n")
          .filter((l) => l && !l.startsWith("#")),
      ).toEqual([]);
    },
  );
});
