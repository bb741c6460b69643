/**
 * The harness's Terraform state server (testkit/state-server.ts), by plain HTTP requests shaped
 * like Terraform's http backend client sends them: basic auth, the lock protocol (423 with the
 * holder's info, writes and unlocks only by the holder's ID) and the write hold the e2e test uses.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type LockInfo, StateServer, spawnStateServer } from "../../testkit/state-server";

const USER = "gitlab-ci-token";
const PASSWORD = "glpat-unit-test-secret";
const PROJECT = "jaws/deploy";

let server: StateServer;
let n = 0;
beforeAll(async () => {
  server = await new StateServer({ username: USER, password: PASSWORD }).start();
});
afterAll(() => server.stop());

/** A fresh state name per test, and its address as createStack builds it. */
function fresh(): { name: string; address: string } {
  const name = `jaws-testhost-dev-${++n}`;
  return { name, address: `${server.apiUrl}/projects/${encodeURIComponent(PROJECT)}/terraform/state/${name}` };
}

async function call(method: string, url: string, body?: string, password = PASSWORD): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { Authorization: `Basic ${Buffer.from(`${USER}:${password}`).toString("base64")}` };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["Content-MD5"] = createHash("md5").update(body).digest("base64");
  }
  const r = await fetch(url, { method, headers, body });
  return { status: r.status, text: await r.text() };
}

const lockInfo = (ID: string): LockInfo => ({ ID, Operation: "OperationTypeApply", Who: "root@ci", Version: "1.11.4", Path: "" });
const stateBody = (serial: number) => JSON.stringify({ version: 4, serial, lineage: "l-1", resources: [] });

describe("state server (Terraform http backend, GitLab's routes)", () => {
  test("every request needs the right basic auth: 401 without it or with a wrong password, nothing stored", async () => {
    const { name, address } = fresh();
    expect((await fetch(address)).status).toBe(401);
    expect((await call("POST", address, stateBody(1), "wrong")).status).toBe(401);
    expect((await call("POST", `${address}/lock`, JSON.stringify(lockInfo("a")), "wrong")).status).toBe(401);
    expect(server.state(PROJECT, name)).toBeUndefined();
    expect(server.lock(PROJECT, name)).toBeUndefined();
  });

  test("no state: GET 204; a write is read back as written; only the state's own address serves it", async () => {
    const { name, address } = fresh();
    expect((await call("GET", address)).status).toBe(204);
    expect((await call("POST", address, stateBody(1))).status).toBe(200);
    const got = await call("GET", address);
    expect(got).toEqual({ status: 200, text: stateBody(1) });
    expect(server.state(PROJECT, name)).toMatchObject({ serial: 1 });
    // The project id is decoded: `jaws%2Fdeploy` and `jaws/deploy` are one project, another id is not.
    expect((await call("GET", address.replace("jaws%2Fdeploy", "other"))).status).toBe(204);
    expect((await call("GET", `${server.url}/api/v4/projects/x/terraform/other/${name}`)).status).toBe(404);
  });

  test("a write whose body does not match its Content-MD5 is refused", async () => {
    const { name, address } = fresh();
    const r = await fetch(address, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`,
        "Content-MD5": createHash("md5").update("other").digest("base64"),
      },
      body: stateBody(1),
    });
    expect(r.status).toBe(400);
    expect(server.state(PROJECT, name)).toBeUndefined();
  });

  test("lock: 200 for the first ID; another ID gets 423 with the holder's lock info; the holder may lock again", async () => {
    const { name, address } = fresh();
    expect((await call("POST", `${address}/lock`, JSON.stringify(lockInfo("first")))).status).toBe(200);
    expect(server.lock(PROJECT, name)?.ID).toBe("first");
    const second = await call("POST", `${address}/lock`, JSON.stringify(lockInfo("second")));
    expect(second.status).toBe(423);
    expect(JSON.parse(second.text)).toEqual(lockInfo("first"));
    expect(server.lock(PROJECT, name)?.ID).toBe("first");
    expect((await call("POST", `${address}/lock`, JSON.stringify(lockInfo("first")))).status).toBe(200);
    // Locks are per state: another state of the project is free.
    const other = fresh();
    expect((await call("POST", `${other.address}/lock`, JSON.stringify(lockInfo("second")))).status).toBe(200);
  });

  test("while locked, only the holder's ID may write the state (409 otherwise: no ID, another ID)", async () => {
    const { name, address } = fresh();
    expect((await call("POST", address, stateBody(1))).status).toBe(200);
    expect((await call("POST", `${address}/lock`, JSON.stringify(lockInfo("holder")))).status).toBe(200);
    const noId = await call("POST", address, stateBody(2));
    expect(noId.status).toBe(409);
    expect(JSON.parse(noId.text).ID).toBe("holder");
    expect((await call("POST", `${address}?ID=intruder`, stateBody(2))).status).toBe(409);
    expect(server.state(PROJECT, name)).toMatchObject({ serial: 1 });
    expect((await call("POST", `${address}?ID=holder`, stateBody(2))).status).toBe(200);
    expect(server.state(PROJECT, name)).toMatchObject({ serial: 2 });
    expect((await call("DELETE", address)).status).toBe(409);
  });

  test("unlock: another ID gets 409 and the lock stays; the holder's unlock releases it; unlocking a free state is 200", async () => {
    const { name, address } = fresh();
    expect((await call("POST", `${address}/lock`, JSON.stringify(lockInfo("holder")))).status).toBe(200);
    const wrong = await call("DELETE", `${address}/lock`, JSON.stringify(lockInfo("intruder")));
    expect(wrong.status).toBe(409);
    expect(JSON.parse(wrong.text).ID).toBe("holder");
    expect(server.lock(PROJECT, name)?.ID).toBe("holder");
    expect((await call("DELETE", `${address}/lock`, JSON.stringify(lockInfo("holder")))).status).toBe(200);
    expect(server.lock(PROJECT, name)).toBeUndefined();
    // Free again: anyone may lock it now, and write without an ID once unlocked.
    expect((await call("DELETE", `${address}/lock`, JSON.stringify(lockInfo("holder")))).status).toBe(200);
    expect((await call("POST", address, stateBody(3))).status).toBe(200);
    expect((await call("POST", `${address}/lock`, JSON.stringify(lockInfo("next")))).status).toBe(200);
    expect((await call("POST", `${address}/lock`, "not json")).status).toBe(400);
    expect((await call("POST", `${address}/lock`, "{}")).status).toBe(400);
  });

  test("held writes are parked (not stored, not answered) until released, then stored", async () => {
    const { name, address } = fresh();
    server.holdWrites();
    const pending = call("POST", address, stateBody(7));
    // Polls the server, no fixed sleep: the write has arrived and waits.
    while (!server.heldWrites().some((k) => k.endsWith(name))) await new Promise((r) => setTimeout(r, 5));
    expect(server.state(PROJECT, name)).toBeUndefined();
    server.releaseWrites();
    expect((await pending).status).toBe(200);
    expect(server.state(PROJECT, name)).toMatchObject({ serial: 7 });
    expect(server.allVersions()).toContain(stateBody(7));
  });
});

describe("state server in a child process (what the e2e test drives)", () => {
  test("serves the same protocol; /_test/status shows its states, locks and held writes; /_test needs the auth too", async () => {
    const child = await spawnStateServer({ username: USER, password: PASSWORD });
    try {
      const address = `${child.apiUrl}/projects/7/terraform/state/s`;
      expect((await fetch(`${child.url}/_test/status`)).status).toBe(401);
      expect((await call("POST", `${address}/lock`, JSON.stringify(lockInfo("held-by-me")))).status).toBe(200);
      await child.holdWrites();
      const pending = call("POST", `${address}?ID=held-by-me`, stateBody(5));
      while ((await child.status()).held.length === 0) await new Promise((r) => setTimeout(r, 10));
      const during = await child.status();
      expect(during.locks["7/s"].ID).toBe("held-by-me");
      expect(during.states).toEqual({});
      await child.releaseWrites();
      expect((await pending).status).toBe(200);
      const after = await child.status();
      expect(after.states["7/s"].serial).toBe(5);
      expect(after.versions).toEqual([stateBody(5)]);
    } finally {
      await child.stop();
    }
  });
});
