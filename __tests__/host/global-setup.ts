/**
 * vitest globalSetup of the e2e tier: one test host (sshd + Unix users) for the whole run, handed
 * to test files with `project.provide()` (read with `useTestHost()`: importing "vitest" here throws).
 */
import type { TestProject } from "vitest/node";
import { checkPrerequisites, startTestHost, stopTestHost, type TestHostInfo } from "../../testkit/test-host";

declare module "vitest" {
  export interface ProvidedContext {
    jawsTestHost: TestHostInfo | null;
    jawsTestHostSkip: string | null;
  }
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const missing = checkPrerequisites();
  if (missing.length > 0) {
    const reason = `test host prerequisites missing: ${missing.join("; ")}`;
    // Any non-empty CI (see use-test-host.ts): a silently skipped e2e tier would look green.
    if (process.env.CI) throw new Error(reason);
    project.provide("jawsTestHost", null);
    project.provide("jawsTestHostSkip", reason);
    return undefined;
  }
  const info = await startTestHost();
  project.provide("jawsTestHost", info);
  project.provide("jawsTestHostSkip", null);
  return () => stopTestHost(info);
}
