/**
 * The pipeline's state backend: main.ts with JAWS_STATE_BACKEND=gitlab (Terraform's `http`
 * backend at GitLab's managed-state routes) against a state server that speaks that protocol with
 * locking. The server is written in this harness (testkit/state-server.ts, its lock semantics in
 * __tests__/unit/state-server.test.ts), not GitLab: a stand-in for GitLab's API, run in a child
 * process. A deploy stores its state there; a second apply while the first holds the lock fails
 * with Terraform's lock error; the lock is released afterwards; the password (TF_HTTP_PASSWORD)
 * appears in no output, no file of the project (cdktf.out, .terraform) and no state.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pidsByProgram } from "../../testkit/processes";
import { BIN, Project, REPO } from "../../testkit/project";
import { type StateServerProcess, spawnStateServer } from "../../testkit/state-server";
import { ROLES, resetUserHome, type TestHostInfo } from "../../testkit/test-host";
import { siteBaseline, stackName } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";

const { info, skipReason } = useTestHost();

const USERNAME = "gitlab-ci-token";
// Distinctive, so any copy of it is found.
const PASSWORD = `glpat-${Math.random().toString(36).slice(2)}-state-secret`;
const PROJECT_ID = "jaws/deploy";
/** The state main.ts gives the jaws stack of the dev deployment (constructs/state-backend.ts). */
const STATE = `${stackName("jaws")}-dev`;
const KEY = `${PROJECT_ID}/${STATE}`;

/** The site's baseline with jaws-greeter's GREETING changed: a deploy with work to do. */
function change(greeting: string) {
  const v = siteBaseline();
  v.jaws.services["jaws-greeter"] = { ...v.jaws.services["jaws-greeter"], environment: { GREETING: greeting } };
  return v;
}

/** Every regular file under `dir`. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe.skipIf(!info)(`gitlab (http) state backend (${skipReason ?? "real host, harness state server"})`, () => {
  const host = info as TestHostInfo;
  let server: StateServerProcess;
  let project: Project;
  /** Everything Terraform and the app printed in this file. */
  const outputs: string[] = [];

  beforeAll(async () => {
    server = await spawnStateServer({ username: USERNAME, password: PASSWORD });
    project = new Project(host, {
      viaApp: true,
      env: {
        JAWS_STATE_BACKEND: "gitlab",
        JAWS_GITLAB_API_URL: server.apiUrl,
        JAWS_GITLAB_PROJECT_ID: PROJECT_ID,
        TF_HTTP_USERNAME: USERNAME,
        TF_HTTP_PASSWORD: PASSWORD,
      },
    });
    for (const role of ROLES) resetUserHome(host, role);
  });
  afterAll(async () => {
    for (const role of ROLES) resetUserHome(host, role);
    project?.remove();
    await server?.stop();
  });

  /** main.ts, as `cdktf synth` runs it, for `variant` (its output kept for the password check). */
  function synth(variant: ReturnType<typeof siteBaseline>): void {
    project.setVariant(variant);
    const r = project.run(`${BIN}/tsx`, [`${REPO}/main.ts`], { CDKTF_OUTDIR: project.outdir });
    outputs.push(r.output);
    expect(r.code, r.output).toBe(0);
  }

  test("a deploy stores its state on the server (GitLab's address, locked and unlocked, no credential in the JSON, nothing local)", async () => {
    synth(siteBaseline());
    const address = `${server.apiUrl}/projects/jaws%2Fdeploy/terraform/state/${STATE}`;
    expect(project.stackJson("jaws").terraform.backend).toEqual({
      http: {
        address,
        lock_address: `${address}/lock`,
        unlock_address: `${address}/lock`,
        lock_method: "POST",
        unlock_method: "DELETE",
        retry_wait_min: 5,
      },
    });
    const r = await project.startTerraform("jaws", ["apply", "-auto-approve", "-input=false"]).done;
    outputs.push(r.output);
    expect(r.code, r.output).toBe(0);

    const status = await server.status();
    expect(Object.keys(status.states)).toEqual([KEY]);
    expect(status.states[KEY].resources.map((res) => res.type)).toEqual(["terraform_data", "terraform_data"]);
    expect(status.locks).toEqual({});
    const statePath = `/api/v4/projects/jaws%2Fdeploy/terraform/state/${STATE}`;
    expect(status.requests).toEqual(
      expect.arrayContaining([`POST ${statePath}/lock 200`, `POST ${statePath} 200`, `DELETE ${statePath}/lock 200`]),
    );
    expect(status.requests.filter((q) => / 40[13]$/.test(q))).toEqual([]);
    expect(fs.existsSync(path.join(project.dir, "state"))).toBe(false);
    expect(Object.values(pidsByProgram("jaws")).some((p) => p > 0)).toBe(true);
  });

  test("the server refuses Terraform with a wrong password", () => {
    const r = project.plan("jaws", { TF_HTTP_PASSWORD: "wrong-password" });
    outputs.push(r.output);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/HTTP remote state endpoint requires auth/);
  });

  test("a second apply while the first holds the lock fails with Terraform's lock error; the lock is released afterwards", async () => {
    synth(change("locked"));
    project.init("jaws");
    const serialBefore = (await server.status()).states[KEY].serial;
    const greeterBefore = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];

    // The first apply cannot write its state (so cannot finish, nor unlock) until released.
    await server.holdWrites();
    const first = project.startTerraform("jaws", ["apply", "-auto-approve", "-input=false"]);
    let held = (await server.status()).locks[KEY];
    while (!held) {
      const ended = await Promise.race([first.done.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]);
      if (ended) break;
      held = (await server.status()).locks[KEY];
    }
    expect(held, "the first apply holds the lock").toMatchObject({ Operation: "OperationTypeApply" });
    const second = await project.startTerraform("jaws", ["apply", "-auto-approve", "-input=false", "-lock-timeout=0s"]).done;
    const during = await server.status();
    await server.releaseWrites();
    const firstResult = await first.done;
    outputs.push(second.output, firstResult.output);

    expect(second.code, second.output).toBe(1);
    expect(second.output).toMatch(/Error acquiring the state lock/);
    // The holder's ID, from the server's 423 answer (Terraform wraps the line).
    expect(second.output).toMatch(new RegExp(`HTTP remote state already locked:\\s+ID=${held?.ID}`));
    expect(during.locks[KEY]?.ID, "the second apply did not take or break the lock").toBe(held?.ID);
    expect(firstResult.code, firstResult.output).toBe(0);
    expect(firstResult.output).toMatch(/Apply complete! Resources: 1 added, 0 changed, 1 destroyed\./);

    const after = await server.status();
    expect(after.locks, "lock released").toEqual({});
    expect(after.states[KEY].serial).toBeGreaterThan(serialBefore);
    const plan = project.plan("jaws");
    outputs.push(plan.output);
    expect(plan.code, plan.output).toBe(0);
    expect((await server.status()).locks).toEqual({});
    const greeterAfter = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];
    expect(greeterAfter).toBeGreaterThan(0);
    expect(greeterAfter).not.toBe(greeterBefore);
  });

  test("the password is in no output, no file of the project (cdktf.out, .terraform) and no state version", async () => {
    const basic = Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64");
    expect(outputs.length).toBeGreaterThanOrEqual(6);
    for (const o of outputs) {
      expect(o).not.toContain(PASSWORD);
      expect(o).not.toContain(basic);
    }
    const files = filesUnder(project.dir);
    // The stack's .terraform (backend settings) and cdk.tf.json are among them.
    expect(files).toEqual(
      expect.arrayContaining([
        path.join(project.stackDir("jaws"), "cdk.tf.json"),
        path.join(project.stackDir("jaws"), ".terraform", "terraform.tfstate"),
      ]),
    );
    const holding = files.filter((f) => {
      const text = fs.readFileSync(f, "latin1");
      return text.includes(PASSWORD) || text.includes(basic);
    });
    expect(holding).toEqual([]);
    const { versions } = await server.status();
    expect(versions.length).toBeGreaterThanOrEqual(2);
    for (const v of versions) expect(v).not.toContain(PASSWORD);
  });
});
