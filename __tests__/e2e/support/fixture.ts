/**
 * Shared set-up and checks of the e2e test files: a project per file, deployed to the test host,
 * the "baseline deployed and healthy" precondition every test starts from, and looks at the host.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import type { JawsServiceOptions } from "../../../constructs";
import { processesMatching, type Snapshot, snapshot } from "../../../testkit/processes";
import { Project } from "../../../testkit/project";
import { ROLES, resetUserHome, type TestHostInfo, type TestUserRole } from "../../../testkit/test-host";
import { baseline, GROUP, instanceDir, siteBaseline, type Variant } from "../../../testkit/test-site";

/** The baseline with something changed. */
export function variantWith(change: (v: Variant) => void, from: Variant = baseline()): Variant {
  change(from);
  return from;
}

/** The site's baseline (as the app deploys it) with jaws-greeter's GREETING changed: a one-line change. */
export const siteWithGreeting = (greeting: string) =>
  variantWith(
    (v) => (v.jaws.services["jaws-greeter"] = { ...v.jaws.services["jaws-greeter"], environment: { GREETING: greeting } }),
    siteBaseline(),
  );

/** Dies at start, with a line on stdout and on stderr for the health gate to show. */
export const crasher = (): JawsServiceOptions => ({
  command: ["/bin/sh", "-c", "echo 'crasher: reading config'; echo 'crasher: FATAL no such config file' >&2; exit 3"],
  startsecs: 1,
  startretries: 0,
});

/** Every loop RUNNING, every one-shot EXITED 0, nothing else, in both instances. */
export function expectBaselineUp(s: Snapshot): void {
  const states = Object.fromEntries(Object.entries(s.processes).map(([k, p]) => [k, `${p.state}/${p.exitstatus}`]));
  expect(states).toEqual({
    [`jaws ${GROUP}:ticker`]: "RUNNING/0",
    [`jaws ${GROUP}:greeter`]: "RUNNING/0",
    [`jaws ${GROUP}:setup`]: "EXITED/0",
    [`jtm ${GROUP}:worker`]: "RUNNING/0",
    [`jtm ${GROUP}:poller`]: "RUNNING/0",
    [`jtm ${GROUP}:deploy-worker`]: "EXITED/0",
  });
  for (const role of ROLES) expect(s.supervisord[role], `supervisord of ${role}`).toBeGreaterThan(1);
}

/** Each loop of the instance runs exactly once (by its command line). */
export function expectEachOnce(role: TestUserRole, markers: string[]): void {
  for (const m of markers) expect(processesMatching(role, m).length, `processes matching '${m}'`).toBe(1);
}

/** What `restartedBetween` gives when only `keys` restarted: nothing added or removed, no supervisord restarted. */
export const onlyRestarted = (...keys: string[]) => ({ restarted: keys, added: [], removed: [], supervisordRestarted: [] });

/** "<role> <group>:<process>" -> pid, for readable assertion failures. */
export const pidsOf = (s: Snapshot) => Object.fromEntries(Object.entries(s.processes).map(([k, p]) => [k, p.pid]));

export class Fixture {
  project: Project;

  constructor(readonly host: TestHostInfo) {
    this.project = new Project(host);
  }

  /** Nothing on the host, a new project with empty state. */
  fromNothing(): void {
    this.cleanup();
    this.project = new Project(this.host);
  }

  /**
   * The baseline deployed and healthy: a cheap no-op when the previous test left it so, a deploy
   * of the difference otherwise. A deploy that cannot get there fails the test: a test that
   * breaks the host on purpose rebuilds it itself (`fromNothing`).
   */
  async atBaseline(): Promise<Snapshot> {
    await this.project.deploy(baseline());
    const s = snapshot();
    expectBaselineUp(s);
    return s;
  }

  cleanup(): void {
    for (const role of ROLES) resetUserHome(this.host, role);
    this.project.remove();
  }
}

/**
 * A project of the real app (main.ts) for a file's tests: the host emptied before and after them,
 * and unless `deploy` is false the site's baseline deployed (timed) before them.
 */
export function siteProject(host: TestHostInfo, label: string, opts: { deploy?: boolean } = {}): Project {
  const project = new Project(host, { viaApp: true });
  beforeAll(async () => {
    for (const role of ROLES) resetUserHome(host, role);
    if (opts.deploy === false) return;
    const t0 = Date.now();
    await project.deploy(siteBaseline());
    timing(`${label}: cold deploy of both stacks`, Date.now() - t0);
  });
  afterAll(() => {
    for (const role of ROLES) resetUserHome(host, role);
    project.remove();
  });
  return project;
}

/** Text of a file of the instance on the host (read as root, locally). */
export const hostFile = (role: TestUserRole, relPath: string, deployment?: string) =>
  fs.readFileSync(path.join(instanceDir(role, deployment), relPath), "utf8");

/**
 * Polls `check` until it returns a value (not undefined/false), or throws with `what`; every
 * `everyMs`, or with 0 as often as the event loop allows (for events that last a fraction of a
 * second), yielding so the test runner and child pipes are served.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => (everyMs ? setTimeout(r, everyMs) : setImmediate(r)));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Every file and directory under `dir` (recursive), as paths; throws when `dir` cannot be read. */
export const listFiles = (dir: string): string[] => (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f));

/** sha256 of a file (throws when it cannot be read). */
export const fileHash = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** Logs a measured duration (the report collects them). */
export const timing = (label: string, ms: number) => console.info(`[timing] ${label}: ${(ms / 1000).toFixed(1)} s`);
