/**
 * The state backend chosen by configuration: JAWS_STATE_BACKEND=pg against a real
 * PostgreSQL (a throw-away server started here). A stack is deployed with its state in
 * PostgreSQL; then two applies of one stack run at once (after a change, so both have work): while
 * the first is held on the host (the test holds the instance's deploy lock) its advisory lock is
 * seen in pg_locks and the second fails on it with Terraform's clear message; the first then
 * succeeds, no advisory lock is left, and the state stays intact (listed, a following plan is clean).
 *
 * Without PostgreSQL's server binaries the test is skipped with the reason; under CI it fails.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunResult, start } from "../../testkit/commands";
import { pidsByProgram } from "../../testkit/processes";
import { Project } from "../../testkit/project";
import { ROLES, resetUserHome, type TestHostInfo } from "../../testkit/test-host";
import { instanceDir, siteBaseline, stackName } from "../../testkit/test-site";
import { inCI, useTestHost } from "../host/use-test-host";
import { siteWithGreeting, timing } from "./support/fixture";
import { postgresPrerequisites, ThrowawayPostgres } from "./support/postgres";

const { info, skipReason } = useTestHost();
const missing = postgresPrerequisites();
const pgSkip = missing.length > 0 ? `PostgreSQL prerequisites missing: ${missing.join("; ")}` : undefined;
if (pgSkip && !inCI()) console.warn(`[e2e skipped] ${pgSkip}`);

const DB = "jaws_state";
const CHANGE = siteWithGreeting("locked");

/** The schema main.ts gives the stack and deployment (constructs/state-backend.ts). */
const SCHEMA = `jaws_deploy_${stackName("jaws")}_dev`.replace(/[^A-Za-z0-9_]/g, "_");

// Under CI a silently skipped backend test would look green: fail instead.
describe.runIf(inCI() && pgSkip)("pg state backend prerequisites (CI)", () => {
  test("PostgreSQL server binaries are installed", () => {
    expect(missing).toEqual([]);
  });
});

describe.skipIf(!info || pgSkip)(`pg state backend (${skipReason ?? pgSkip ?? "real host, real PostgreSQL"})`, () => {
  const host = info as TestHostInfo;
  let pg: ThrowawayPostgres;
  let project: Project;

  beforeAll(async () => {
    const t0 = Date.now();
    pg = new ThrowawayPostgres();
    await pg.start();
    pg.psql(`CREATE DATABASE ${DB}`);
    timing("state-pg: initdb + start PostgreSQL + create db", Date.now() - t0);
    project = new Project(host, { viaApp: true, env: { JAWS_STATE_BACKEND: "pg", PG_CONN_STR: pg.connStr(DB) } });
    for (const role of ROLES) resetUserHome(host, role);
  });
  afterAll(() => {
    for (const role of ROLES) resetUserHome(host, role);
    project?.remove();
    pg?.stop();
  });

  test("a stack deploys with its state in PostgreSQL (its own schema, nothing local, no credential in the JSON)", async () => {
    const t0 = Date.now();
    await project.deploy(siteBaseline(), { roles: ["jaws"] });
    timing("state-pg: deploy of jaws-testhost", Date.now() - t0);
    expect(project.stackJson("jaws").terraform.backend).toEqual({ pg: { schema_name: SCHEMA } });
    expect(JSON.stringify(project.stackJson("jaws"))).not.toContain(`127.0.0.1:${pg.port}`);
    expect(pg.psql(`SELECT name FROM ${SCHEMA}.states`, DB)).toBe("default");
    expect(fs.existsSync(path.join(project.dir, "state"))).toBe(false);
    expect(Object.values(pidsByProgram("jaws")).some((p) => p > 0)).toBe(true);
  });

  test("two concurrent applies of one stack: the second fails on the state lock, the first succeeds, the state stays intact", async () => {
    project.synth(CHANGE);
    project.init("jaws");
    const serialBefore = stateSerial(project);
    const greeterBefore = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];

    // The first apply is kept inside its run by a gate: the test holds the instance's deploy lock on
    // the host (the flock the deploy bundle takes), so the first apply, holding the state lock,
    // waits on the host until the gate opens. No window to race.
    const hostLock = `${instanceDir("jaws")}/.deploy/lock`;
    expect(fs.existsSync(hostLock), hostLock).toBe(true);
    const gate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "jaws-pg-gate-")), "open");
    const holder = start("flock", ["--exclusive", hostLock, "sh", "-c", `echo held; while [ ! -e '${gate}' ]; do sleep 0.1; done`]);
    await holder.waitForLine(/^held$/);
    const advisoryLocks = () => Number(pg.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", DB));
    expect(advisoryLocks(), "no advisory lock before the applies").toBe(0);

    const t0 = Date.now();
    const first = project.startTerraform("jaws", ["apply", "-auto-approve", "-input=false"]);
    let second: RunResult;
    let heldDuring: number;
    try {
      // On the host, waiting behind the gate: its state lock is taken.
      await first.waitForLine(/another deploy of this instance is running; waiting up to \d+s for its lock/, 120_000);
      heldDuring = advisoryLocks();
      // The second, while the first holds the state lock; no waiting for it.
      second = await project.startTerraform("jaws", ["apply", "-auto-approve", "-input=false", "-lock-timeout=0s"]).done;
    } finally {
      fs.writeFileSync(gate, "");
    }
    const firstResult = await first.done;
    expect((await holder.done).code).toBe(0);
    fs.rmSync(path.dirname(gate), { recursive: true, force: true });
    timing("state-pg: the two concurrent applies", Date.now() - t0);

    expect(heldDuring, "advisory locks while the first apply runs").toBeGreaterThanOrEqual(1);

    console.info(`--- the second apply ---\n${second.output}`);
    expect(second.code, second.output).toBe(1);
    expect(second.output).toMatch(/Error acquiring the state lock/);
    // Terraform's message says why and what to do.
    expect(second.output).toMatch(/Terraform acquires a state lock to protect the state from being written/);
    expect(firstResult.code, firstResult.output).toBe(0);
    expect(firstResult.output).toMatch(/Apply complete! Resources: 1 added, 0 changed, 1 destroyed\./);

    // The state: one newer version, both resources, the change applied once, and nothing left to do.
    expect(stateSerial(project)).toBeGreaterThan(serialBefore);
    const list = project.terraform("jaws", ["state", "list"]);
    expect(list.code, list.output).toBe(0);
    expect(list.output.trim().split("\n").sort()).toEqual([
      expect.stringMatching(/^terraform_data\.supervisor_deploy_/),
      expect.stringMatching(/^terraform_data\.supervisor_instance_/),
    ]);
    const plan = project.plan("jaws");
    expect(plan.code, plan.output).toBe(0);
    // The lock is released: a later plan took it (above) and no lock is left behind.
    expect(advisoryLocks()).toBe(0);
    const greeterAfter = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];
    expect(greeterAfter).toBeGreaterThan(0);
    expect(greeterAfter).not.toBe(greeterBefore);
  });
});

function stateSerial(project: Project): number {
  const r = project.terraform("jaws", ["state", "pull"]);
  if (r.code !== 0) throw new Error(`state pull failed: ${r.output}`);
  return (JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { serial: number }).serial;
}
