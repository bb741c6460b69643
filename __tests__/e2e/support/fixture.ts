/**
 * Shared set-up of the e2e test files: a project per file, deployed to the test host, and the
 * "baseline deployed and healthy" precondition every test starts from.
 */
import * as fs from "node:fs";
import { expect } from "vitest";
import { resetUserHome, type TestHostInfo, type TestUserRole } from "../../host/test-host";
import { baseline, GROUP, type ModelVariant, ROLES } from "./model";
import { E2eProject, processesMatching, type Snapshot, snapshot } from "./project";

/** Environment of a live process (read as root). */
export function environ(pid: number): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter((kv) => kv.includes("="))
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

/** The baseline with something changed. */
export function variantWith(change: (v: ReturnType<typeof baseline>) => void): ModelVariant {
  const v = baseline();
  change(v);
  return v;
}

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
export function expectEachOnce(host: TestHostInfo, role: TestUserRole, markers: string[]): void {
  for (const m of markers) expect(processesMatching(host, role, m).length, `processes matching '${m}'`).toBe(1);
}

export class Fixture {
  project: E2eProject;

  constructor(readonly host: TestHostInfo) {
    this.project = new E2eProject(host);
  }

  /** Nothing on the host, a new project with empty state. */
  fromNothing(): void {
    for (const role of ROLES) resetUserHome(this.host, role);
    this.project.remove();
    this.project = new E2eProject(this.host);
  }

  /**
   * The baseline deployed and healthy: a cheap no-op when the previous test left it so, a
   * deploy of the difference otherwise, a cold deploy from nothing if the host is broken.
   */
  async atBaseline(): Promise<Snapshot> {
    try {
      await this.project.deploy(baseline());
      const s = snapshot(this.host);
      expectBaselineUp(s);
      return s;
    } catch (e) {
      // Shown, not swallowed: a previous test may have left a real fault behind.
      console.warn(`baseline not reached by a deploy (${e instanceof Error ? e.message.split("\n")[0] : e}); deploying from nothing`);
      this.fromNothing();
      await this.project.deploy(baseline());
      const s = snapshot(this.host);
      expectBaselineUp(s);
      return s;
    }
  }

  cleanup(): void {
    for (const role of ROLES) resetUserHome(this.host, role);
    this.project.remove();
  }
}
