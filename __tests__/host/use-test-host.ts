/**
 * For test files of the e2e tier:
 *
 *   const { info, skipReason } = useTestHost();
 *   describe.skipIf(!info)(`deploy (${skipReason ?? "real host"})`, () => { ... info! ... });
 *
 * Kept apart from global-setup.ts because it imports "vitest", which must not be loaded in the
 * globalSetup (main-process) context.
 */
import { inject } from "vitest";
import type { TestHostInfo } from "./test-host";

export interface UseTestHost {
  info?: TestHostInfo;
  skipReason?: string;
}

export function useTestHost(): UseTestHost {
  const info = inject("jawsTestHost") ?? undefined;
  if (info) return { info };
  const skip = inject("jawsTestHostSkip") ?? undefined;
  if (skip) return logSkip(skip);
  // Neither provided: this file runs in a project without the global setup.
  const reason = "test host not started: add globalSetup '__tests__/host/global-setup.ts' to this vitest project";
  if (process.env.CI === "true") throw new Error(reason);
  return logSkip(reason);
}

function logSkip(reason: string): UseTestHost {
  console.warn(`[e2e skipped] ${reason}`);
  return { skipReason: reason };
}
