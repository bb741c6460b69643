/**
 * Deployments and state: dev and prod of one site side by side on one host, each with
 * its own directories, group, ports and Terraform state. Deploying dev (a change, through the
 * cdktf CLI as CI runs it) never reads or writes prod's state and never touches prod's processes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { instanceState, pidsByProgram, supervisordPid } from "../../testkit/processes";
import type { Project } from "../../testkit/project";
import { ROLES, type TestHostInfo } from "../../testkit/test-host";
import { instanceDir, siteBaseline, stackName } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { fileHash, siteProject, siteWithGreeting, timing } from "./support/fixture";

const { info, skipReason } = useTestHost();

const DEPLOYMENTS = ["dev", "prod"] as const;
const CHANGE = siteWithGreeting("dev-only");

interface StateJson {
  // terraform_data keeps triggers_replace as a dynamic value: {value, type}.
  resources: { type: string; instances: { attributes: { triggers_replace?: { value?: Record<string, string> } } }[] }[];
}
const readState = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as StateJson;
const instanceDirInState = (file: string) => [
  ...new Set(
    readState(file)
      .resources.flatMap((r) => r.instances)
      .map((i) => i.attributes.triggers_replace?.value?.instance_dir)
      .filter(Boolean),
  ),
];

/** Every process of a deployment, both instances: supervisord's PID, each program's PID, state and start time. */
function deploymentProcesses(deployment: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const role of ROLES) {
    const s = instanceState(role, deployment);
    // The pidfile and supervisord's own answer agree: the instance asked is the one running.
    expect(supervisordPid(role, deployment), `${role}-${deployment} pidfile`).toBe(s.supervisord);
    out[`${role} supervisord`] = String(s.supervisord);
    for (const [k, p] of Object.entries(s.processes)) out[`${role} ${k}`] = `${p.state} pid ${p.pid} started ${p.start}`;
  }
  return out;
}

describe.skipIf(!info)(`deployments side by side (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const project = siteProject(host, "deployments", { deploy: false });

  test("dev and prod: own directories, groups, ports, supervisords and state files", async () => {
    for (const d of DEPLOYMENTS) {
      const t0 = Date.now();
      await project.deploy(siteBaseline(), { deployment: d });
      timing(`deployments: deploy ${d}`, Date.now() - t0);
      // The synthesized backend names the deployment's own state file, relative to the project.
      for (const role of ROLES) {
        const backend = project.stackJson(role).terraform.backend.local;
        expect(backend.path).toBe(`../../../state/${d}/terraform.${stackName(role)}.tfstate`);
      }
    }
    for (const d of DEPLOYMENTS) {
      for (const role of ROLES) {
        const dir = instanceDir(role, d);
        const conf = fs.readFileSync(`${dir}/supervisord.conf`, "utf8");
        expect(conf).toContain(`[group:jaws-${d}]`);
        expect(conf).toContain(`identifier=supervisor-${role}-${d}`);
        expect(conf).not.toContain(d === "dev" ? "jaws-prod" : "jaws-dev");
        // Every process of the deployment is in its own group.
        const pids = pidsByProgram(role, d);
        expect(Object.keys(pids).length).toBeGreaterThan(0);
        for (const k of Object.keys(pids)) expect(k.startsWith(`jaws-${d}:`), k).toBe(true);
        // The state of each deployment records its own instance directory.
        expect(instanceDirInState(project.stateFile(role, d))).toEqual([dir]);
      }
      // jtm's control endpoint: the port table (64111 dev, 64113 prod), on 127.0.0.1.
      const jtmConf = fs.readFileSync(`${instanceDir("jtm", d)}/supervisord.conf`, "utf8");
      expect(jtmConf).toContain(`port=127.0.0.1:${d === "dev" ? 64111 : 64113}`);
    }
    // Two supervisords per user, one per deployment.
    for (const role of ROLES) {
      const dev = supervisordPid(role, "dev");
      const prod = supervisordPid(role, "prod");
      expect(dev).toBeGreaterThan(1);
      expect(prod).toBeGreaterThan(1);
      expect(dev).not.toBe(prod);
    }
    // One state file per stack and deployment, nothing else.
    const files = fs
      .readdirSync(path.join(project.dir, "state"), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".tfstate"))
      .sort();
    expect(files).toEqual(
      [
        "dev/terraform.jaws-testhost.tfstate",
        "dev/terraform.jtm-testhost.tfstate",
        "prod/terraform.jaws-testhost.tfstate",
        "prod/terraform.jtm-testhost.tfstate",
      ].sort(),
    );
  });

  test("cdktf deploy of a dev change never reads or writes prod's state, nor touches prod's processes", () => {
    const prodFiles = ROLES.map((r) => project.stateFile(r, "prod"));
    const devFiles = ROLES.map((r) => project.stateFile(r, "dev"));
    const prodState = prodFiles.map((f) => fs.readFileSync(f));
    const devHashes = devFiles.map(fileHash);
    const prodBefore = deploymentProcesses("prod");
    const devBefore = deploymentProcesses("dev");
    // Prod is up before the dev deploy: each supervisord and loop has a live PID, each one-shot exited.
    expect(Object.values(prodBefore).filter((p) => !/^\d+$|^RUNNING pid [1-9]\d* |^EXITED pid 0 /.test(p))).toEqual([]);
    expect(Object.values(prodBefore).filter((p) => p.startsWith("RUNNING")).length).toBe(4);

    // Prod's state replaced by text that is no state: if the dev deploy read it, it would fail;
    // if it wrote it, the hash would change. (The working directory was last set up for prod:
    // the dev deploy also proves switching deployments in one checkout is safe.)
    const poison = "not a Terraform state: deploying dev must neither read nor write this file\n";
    for (const f of prodFiles) fs.writeFileSync(f, poison);
    const poisonHash = fileHash(prodFiles[0]);
    let r: ReturnType<Project["cdktf"]>;
    // What the dev deploy left in prod's state files, read before they are restored below (a file
    // that vanished throws here: it is not "unchanged").
    let prodAfterDeploy: string[];
    try {
      r = project.cdktf(CHANGE, ["deploy", stackName("jaws"), stackName("jtm"), "--auto-approve"], { JAWS_DEPLOYMENT: "dev" });
    } finally {
      prodAfterDeploy = prodFiles.map(fileHash);
      for (const [i, f] of prodFiles.entries()) fs.writeFileSync(f, prodState[i]);
    }
    timing("deployments: cdktf deploy of the dev change (both stacks)", r.ms);
    expect(r.code, r.output).toBe(0);
    expect(r.output).not.toMatch(/migrat/i);
    // The stack directory was initialised for prod: the app forgot that backend (see
    // sites/backend-switch.ts) instead of Terraform stopping on "Backend configuration changed".
    expect(r.output).toMatch(/jaws-testhost: backend path="[^"]*state\/dev\/[^"]*" \(was path="[^"]*state\/prod\//);

    // Prod: its state files never written (the poison is intact), its processes untouched.
    expect(prodAfterDeploy, "prod's state files after the dev deploy").toEqual(prodFiles.map(() => poisonHash));
    expect(deploymentProcesses("prod")).toEqual(prodBefore);
    // Dev: its jaws state was written, and the changed program (only it) restarted.
    expect(devFiles.map(fileHash)[0]).not.toBe(devHashes[0]);
    const devAfter = deploymentProcesses("dev");
    const restarted = Object.keys(devAfter).filter((k) => devAfter[k] !== devBefore[k]);
    expect(restarted).toEqual(["jaws jaws-dev:jaws-greeter"]);
    expect(Object.keys(devAfter)).toEqual(Object.keys(devBefore));

    // And prod, planned from its own state, still has nothing to do.
    project.synth(siteBaseline(), "prod");
    for (const role of ROLES) {
      const plan = project.plan(role, { JAWS_DEPLOYMENT: "prod" });
      expect(plan.code, plan.output).toBe(0);
    }
  });
});
