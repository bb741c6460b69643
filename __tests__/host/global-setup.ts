/**
 * vitest globalSetup for the end-to-end tier: starts one test host (sshd + Unix users) for the
 * whole run and stops it afterwards.
 *
 * Runs in vitest's main process, where importing "vitest" itself throws: test files read the
 * host with `useTestHost()` from ./use-test-host instead.
 *
 * Hands the host to workers twice: `project.provide()` (the vitest 3 API) and environment
 * variables (inherited by workers, also handy for child processes such as `cdktf`).
 */
import type { TestProject } from "vitest/node";
import { checkPrerequisites, startTestHost, stopTestHost, type TestHostInfo } from "./test-host";

/** Path of the test-host.json of the running host. */
export const ENV_TEST_HOST = "JAWS_TEST_HOST";
/** Why the e2e tier is skipped (only set outside CI). */
export const ENV_TEST_HOST_SKIP = "JAWS_TEST_HOST_SKIP";

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
    // In CI a silently skipped e2e tier would look green: fail instead.
    if (process.env.CI === "true") throw new Error(reason);
    process.env[ENV_TEST_HOST_SKIP] = reason;
    delete process.env[ENV_TEST_HOST];
    project.provide("jawsTestHost", null);
    project.provide("jawsTestHostSkip", reason);
    return undefined;
  }
  const info = await startTestHost();
  process.env[ENV_TEST_HOST] = `${info.dir}/test-host.json`;
  delete process.env[ENV_TEST_HOST_SKIP];
  project.provide("jawsTestHost", info);
  project.provide("jawsTestHostSkip", null);
  return () => {
    stopTestHost(info);
    delete process.env[ENV_TEST_HOST];
  };
}
