/**
 * Reviewable diffs: what a reviewer sees in a merge request. The real app (main.ts) on
 * a site module pointing at the test host, deployed with terraform_data; then ONE environment
 * variable of ONE service changes and real `terraform plan` runs on the new synth against that
 * state. The plan must show the old and the new line of that wrapper, and nothing of the services
 * that did not change.
 */
import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { environ, pidsByProgram } from "../../testkit/processes";
import { ROLES, type TestHostInfo } from "../../testkit/test-host";
import { instanceDir } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { siteProject, siteWithGreeting, timing } from "./support/fixture";

const { info, skipReason } = useTestHost();

/** The one-line change under review: GREETING of jaws-greeter, hello -> bonjour. */
const CHANGE = siteWithGreeting("bonjour");

/** Lines of a plan that Terraform marks as changed inside a map (`~ key = ...`). */
const changedKeys = (plan: string) => [...plan.matchAll(/^\s*~ ("[^"]+"|\S+)\s+= /gm)].map((m) => m[1].replace(/"/g, ""));

describe.skipIf(!info)(`reviewable diffs (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const project = siteProject(host, "review");

  test("one environment variable of one service: the plan shows its old and new line, nothing else of the host", () => {
    const t0 = Date.now();
    project.synth(CHANGE);
    const jaws = project.terraform("jaws", ["plan", "-input=false", "-detailed-exitcode"]);
    const jtm = project.terraform("jtm", ["plan", "-input=false", "-detailed-exitcode"]);
    timing("review: synth + init + plan of both stacks", Date.now() - t0);
    console.info(`--- plan of jaws-testhost after GREETING=hello -> bonjour ---\n${jaws.output}`);

    // Exit 2: changes; the other stack has none (exit 0).
    expect(jaws.code, jaws.output).toBe(2);
    expect(jtm.code, jtm.output).toBe(0);
    expect(jtm.output).toMatch(/No changes\. Your infrastructure matches the configuration\./);

    // The old and the new line of the wrapper, as diff lines.
    expect(jaws.output).toMatch(/^\s+- export GREETING=hello$/m);
    expect(jaws.output).toMatch(/^\s+\+ export GREETING=bonjour$/m);
    expect(jaws.output).toContain('"file:bin/jaws-greeter.sh"');
    // Exactly one deploy is replaced; nothing else in the stack changes.
    expect(jaws.output).toMatch(/Plan: 1 to add, 0 to change, 1 to destroy\./);

    // Nothing about the services that did not change: their wrappers, their config sections,
    // supervisord.conf (the variable lives in the wrapper, so the config is the same).
    for (const unchanged of ["jaws-ticker", "jaws-setup", "supervisord.conf", "[program:"]) {
      expect(jaws.output, unchanged).not.toContain(unchanged);
    }
    // What changes inside the triggers: the wrapper, and the deploy id (a hash of every file: one
    // line, named, the only entry that is not content). Nothing else, in particular no
    // destroy_script that embeds the deploy id (it did in an earlier version: noise on every change).
    expect(changedKeys(jaws.output).sort()).toEqual(["deploy_id", "file:bin/jaws-greeter.sh", "id", "triggers_replace"].sort());
    expect(jaws.output).not.toMatch(/destroy_script/);
    // Only one line of the wrapper changes: exactly one "-" and one "+" content line.
    const removed = jaws.output.split("\n").filter((l) => /^\s+- (?!\/)/.test(l) && !/^\s+- (resource|id)\b/.test(l));
    const added = jaws.output.split("\n").filter((l) => /^\s+\+ (?!\/)/.test(l) && !/^\s+\+ (resource|id)\b/.test(l));
    expect(removed.map((l) => l.trim())).toEqual(["- export GREETING=hello"]);
    expect(added.map((l) => l.trim())).toEqual(["+ export GREETING=bonjour"]);

    // No secret in what a reviewer sees: the instance's key made on the host never appears.
    const key = fs.readFileSync(`${instanceDir("jaws")}/secret/key`, "utf8").trim();
    expect(key.length).toBeGreaterThan(20);
    expect(jaws.output).not.toContain(key);
  });

  test("the reviewed plan is what the deploy does: only that program restarts, and the next plan is clean", async () => {
    const before = { jaws: pidsByProgram("jaws"), jtm: pidsByProgram("jtm") };
    const t0 = Date.now();
    await project.deploy(CHANGE);
    timing("review: deploy of the reviewed change", Date.now() - t0);
    const after = { jaws: pidsByProgram("jaws"), jtm: pidsByProgram("jtm") };
    expect(after.jtm).toEqual(before.jtm);
    const restarted = Object.keys(after.jaws).filter((k) => after.jaws[k] !== before.jaws[k]);
    // The one-shot is not running (pid 0 before and after); only the greeter has a new PID.
    expect(restarted).toEqual(["jaws-dev:jaws-greeter"]);
    const greeter = after.jaws["jaws-dev:jaws-greeter"];
    expect(environ(greeter).GREETING).toBe("bonjour");
    for (const role of ROLES) {
      const plan = project.plan(role);
      expect(plan.code, plan.output).toBe(0);
    }
    // The state holds no secret either.
    const key = fs.readFileSync(`${instanceDir("jaws")}/secret/key`, "utf8").trim();
    expect(fs.readFileSync(project.stateFile("jaws"), "utf8")).not.toContain(key);
  });
});
