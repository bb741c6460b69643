/**
 * Two instances under two users, each stack deployed on its own
 * (through the cdktf CLI, the way CI runs it), and destroy.
 */
import * as fs from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { environ, processOwner, restartedBetween, snapshot } from "../../testkit/processes";
import { countSshSessions, pidRunning, ROLES, runAsUser, sshLogOffset, type TestHostInfo, userProcesses } from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, shellLoop } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { crasher, expectBaselineUp, Fixture, hostFile, onlyRestarted, variantWith, waitFor } from "./support/fixture";

const { info, skipReason } = useTestHost();

describe.skipIf(!info)(`two instances, destroy (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const fx = new Fixture(host);
  afterAll(() => fx.cleanup());

  test("each instance runs as its own user, with its own socket and key; neither user can reach the other's supervisord", async () => {
    const s = await fx.atBaseline();
    const keys = new Set<string>();
    for (const role of ROLES) {
      const user = host.users[role];
      const other = role === "jaws" ? "jtm" : "jaws";
      const dir = instanceDir(role);
      expect(processOwner(s.supervisord[role] as number)).toBe(user.uid);
      for (const [k, p] of Object.entries(s.processes)) {
        if (k.startsWith(`${role} `) && p.pid) {
          expect(processOwner(p.pid), k).toBe(user.uid);
          // Each program knows its own supervisord only.
          expect(environ(p.pid).SUPERVISOR_SERVER_URL).toBe(`unix://${dir}/run/supervisor.sock`);
        }
      }
      const sock = fs.statSync(`${dir}/run/supervisor.sock`);
      expect([sock.uid, (sock.mode & 0o777).toString(8)]).toEqual([user.uid, "700"]);
      expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe("700");
      keys.add(hostFile(role, "secret/key"));

      // The other user cannot even reach the socket or read the key.
      const probe = runAsUser(other, `${dir}/bin/supervisorctl status; cat ${dir}/secret/key`);
      expect(probe.code).not.toBe(0);
      expect(probe.stdout + probe.stderr).toMatch(/Permission denied/);
      expect(probe.stdout).not.toContain(hostFile(role, "secret/key").trim());
    }
    expect(keys.size).toBe(2);
  });

  test("cdktf deploy jaws-testhost (the CI way) changes the jaws instance only: no ssh login as the jtm user, jtm PIDs kept", async () => {
    const before = await fx.atBaseline();
    const sshStart = sshLogOffset(host);
    const variant = variantWith((v) => {
      v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-via-cdktf") };
      // The jtm side of the model changes too, but its stack is not deployed.
      v.jtm.services.worker = { ...v.jtm.services.worker, command: shellLoop("jtm-not-deployed") };
    });
    const r = fx.project.cdktf(variant, ["deploy", "jaws-testhost", "--auto-approve"]);
    console.info(`cdktf deploy jaws-testhost took ${r.ms} ms`);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/deploy [0-9a-f]{16} done/);
    const sessions = countSshSessions(host, sshStart);
    expect(sessions.byUser[host.users.jtm.name]).toBeUndefined();
    expect(sessions.byUser[host.users.jaws.name]).toBe(1);
    const after = snapshot();
    expect(restartedBetween(before, after)).toEqual(onlyRestarted(`jaws ${GROUP}:ticker`));
    expect(hostFile("jtm", "supervisord.conf")).not.toContain("jtm-not-deployed");
    expect(fs.readFileSync(`${instanceDir("jtm")}/bin/worker.sh`, "utf8")).not.toContain("jtm-not-deployed");
    // The jtm stack now has a pending change; the jaws stack none.
    fx.project.synth(variant);
    expect(fx.project.plan("jaws").code).toBe(0);
    expect(fx.project.plan("jtm").code).toBe(2);
  });

  test("destroy (cdktf destroy jaws-testhost, terraform destroy jtm-testhost) stops every program and supervisord: no process of either user is left", async () => {
    const before = await fx.atBaseline();
    const d1 = fx.project.cdktf(baseline(), ["destroy", "jaws-testhost", "--auto-approve"]);
    console.info(`cdktf destroy jaws-testhost took ${d1.ms} ms`);
    expect(d1.code, d1.output).toBe(0);
    expect(d1.output).toMatch(/destroy: stopping every program and shutting supervisord down/);
    const d2 = fx.project.destroy("jtm");
    expect(d2.code, d2.output).toBe(0);
    expect(d2.output).toMatch(/Resources: 2 destroyed/);
    for (const role of ROLES) {
      const name = host.users[role].name;
      await waitFor(`no process of ${name} left`, () => userProcesses(name).length === 0, 10_000).catch(() => {
        throw new Error(`processes of ${name} left: ${JSON.stringify(userProcesses(name))}`);
      });
      expect(pidRunning(before.supervisord[role] as number)).toBe(false);
      expect(fs.existsSync(`${instanceDir(role)}/state/deploy-id`)).toBe(false);
      // The files stay (logs for the post-mortem); the next deploy starts from them.
      expect(fs.existsSync(`${instanceDir(role)}/supervisord.conf`)).toBe(true);
    }
    // Deploying again brings everything back.
    await fx.project.deploy(baseline());
    expectBaselineUp(snapshot());
  });

  // A failed deploy leaves the deploy resource tainted, and Terraform runs no destroy provisioner of
  // a tainted object (hashicorp/terraform#13395, #31266): the stop lives on the instance resource,
  // which deploys never taint or replace.
  test("destroy right after a failed deploy (tainted resource) still stops everything", async () => {
    await fx.atBaseline();
    fx.project.synth(variantWith((v) => (v.jaws.services.crasher = crasher())));
    const failed = fx.project.apply("jaws");
    expect(failed.code).not.toBe(0);
    const d = fx.project.destroy("jaws");
    expect(d.code, d.output).toBe(0);
    const name = host.users.jaws.name;
    await waitFor(`no process of ${name} left`, () => userProcesses(name).length === 0, 10_000).catch(() => {
      throw new Error(`processes of ${name} left after destroy:\n${d.output}\n${JSON.stringify(userProcesses(name))}`);
    });
  });
});
