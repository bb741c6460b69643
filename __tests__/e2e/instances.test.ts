/**
 * Issue 3, behaviours 9 and 8: two instances under two users, each stack deployed on its own
 * (through the cdktf CLI, the way CI runs it), and destroy.
 */
import * as fs from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { countSshSessions, runAsUser, sshLogOffset, type TestHostInfo, userProcesses } from "../host/test-host";
import { useTestHost } from "../host/use-test-host";
import { environ, expectBaselineUp, Fixture, variantWith } from "./support/fixture";
import { baseline, crasher, GROUP, instanceDir, ROLES, shellLoop } from "./support/model";
import { hostFile, processOwner, restartedBetween, snapshot, waitFor } from "./support/project";

const { info, skipReason } = useTestHost();

describe.skipIf(!info)(`two instances, destroy (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const fx = new Fixture(host);
  afterAll(() => fx.cleanup());

  test("9a. each instance runs as its own user, with its own socket and key; neither user can reach the other's supervisord", async () => {
    const s = await fx.atBaseline();
    const keys = new Set<string>();
    for (const role of ROLES) {
      const user = host.users[role];
      const other = role === "jaws" ? "jtm" : "jaws";
      const dir = instanceDir(host, role);
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
      keys.add(hostFile(host, role, "secret/key"));

      // The other user cannot even reach the socket or read the key.
      const probe = runAsUser(other, `${dir}/bin/supervisorctl status; cat ${dir}/secret/key`);
      expect(probe.code).not.toBe(0);
      expect(probe.stdout + probe.stderr).toMatch(/Permission denied/);
      expect(probe.stdout).not.toContain(hostFile(host, role, "secret/key").trim());
    }
    expect(keys.size).toBe(2);
  });

  test("9b. cdktf deploy jaws-test (the CI way) changes the jaws instance only: no ssh login as the jtm user, jtm PIDs kept", async () => {
    const before = await fx.atBaseline();
    const sshStart = sshLogOffset(host);
    const variant = variantWith((v) => {
      v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-via-cdktf") };
      // The jtm side of the model changes too, but its stack is not deployed.
      v.jtm.services.worker = { ...v.jtm.services.worker, command: shellLoop("jtm-not-deployed") };
    });
    const r = fx.project.cdktf(variant, "deploy", "jaws-test", "--auto-approve");
    console.info(`cdktf deploy jaws-test took ${r.ms} ms`);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/deploy [0-9a-f]{16} done/);
    const sessions = countSshSessions(host, sshStart);
    expect(sessions.byUser[host.users.jtm.name]).toBeUndefined();
    expect(sessions.byUser[host.users.jaws.name]).toBe(1);
    const after = snapshot(host);
    expect(restartedBetween(before, after)).toEqual({
      restarted: [`jaws ${GROUP}:ticker`],
      added: [],
      removed: [],
      supervisordRestarted: [],
    });
    expect(hostFile(host, "jtm", "supervisord.conf")).not.toContain("jtm-not-deployed");
    expect(fs.readFileSync(`${instanceDir(host, "jtm")}/bin/worker.sh`, "utf8")).not.toContain("jtm-not-deployed");
    // The jtm stack now has a pending change; the jaws stack none.
    fx.project.synth(variant);
    expect(fx.project.plan("jaws").code).toBe(0);
    expect(fx.project.plan("jtm").code).toBe(2);
  });

  test("8a. destroy (cdktf destroy jaws-test, terraform destroy jtm-test) stops every program and supervisord: no process of either user is left", async () => {
    const before = await fx.atBaseline();
    const d1 = fx.project.cdktf(baseline(), "destroy", "jaws-test", "--auto-approve");
    console.info(`cdktf destroy jaws-test took ${d1.ms} ms`);
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
      expect(processOwner(before.supervisord[role] as number)).toBeUndefined();
      expect(fs.existsSync(`${instanceDir(host, role)}/state/deploy-id`)).toBe(false);
      // The files stay (logs for the post-mortem); the next deploy starts from them.
      expect(fs.existsSync(`${instanceDir(host, role)}/supervisord.conf`)).toBe(true);
    }
    // Deploying again brings everything back.
    await fx.project.deploy(baseline());
    expectBaselineUp(snapshot(host));
  });

  // A failed deploy leaves the deploy resource tainted, and Terraform runs no destroy provisioner of
  // a tainted object (hashicorp/terraform#13395, #31266): the stop lives on the instance resource,
  // which deploys never taint or replace.
  test("8b. destroy right after a failed deploy (tainted resource) still stops everything", async () => {
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
