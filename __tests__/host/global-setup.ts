/**
 * vitest globalSetup for the end-to-end tier: starts one test host (sshd + Unix users) for the
 * whole run and stops it afterwards.
 *
 * Runs in vitest's main process, where importing "vitest" itself throws: test files read the
 * host with `useTestHost()` from ./use-test-host instead.
 *
 * Hands the host to test files with `project.provide()` (the vitest 3 API), and names its
 * test-host.json in JAWS_TEST_HOST for child processes (the e2e test site, read by `cdktf`'s app).
 */
import type { TestProject } from "vitest/node";
import { checkPrerequisites, startTestHost, stopTestHost, type TestHostInfo } from "./test-host";

/** Path of the test-host.json of the running host. */
const ENV_TEST_HOST = "JAWS_TEST_HOST";

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
    delete process.env[ENV_TEST_HOST];
    project.provide("jawsTestHost", null);
    project.provide("jawsTestHostSkip", reason);
    return undefined;
  }
  const info = await startTestHost();
  process.env[ENV_TEST_HOST] = `${info.dir}/test-host.json`;
  project.provide("jawsTestHost", info);
  project.provide("jawsTestHostSkip", null);
  return () => {
    stopTestHost(info);
    delete process.env[ENV_TEST_HOST];
  };
}
