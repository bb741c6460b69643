/**
 * For test files of the e2e tier:
 *
 *   const { info, skipReason } = useTestHost();
 *   describe.skipIf(!info)(`deploy (${skipReason ?? "real host"})`, () => { ... info! ... });
 *
 * Apart from global-setup.ts because it imports "vitest", which the globalSetup context must not.
 */
import { inject } from "vitest";
import type { TestHostInfo } from "../../testkit/test-host";

/** Any non-empty CI counts (GitLab sets "true", others "1"): there a skipped e2e tier would look green. */
export const inCI = () => Boolean(process.env.CI);

export function useTestHost(): { info?: TestHostInfo; skipReason?: string } {
  const info = inject("jawsTestHost") ?? undefined;
  if (info) return { info };
  // Neither provided: this file runs in a project without the global setup.
  const reason =
    inject("jawsTestHostSkip") ?? "test host not started: add globalSetup '__tests__/host/global-setup.ts' to this vitest project";
  if (inCI()) throw new Error(reason);
  console.warn(`[e2e skipped] ${reason}`);
  return { skipReason: reason };
}
