/**
 * The local test host of a bench part: started once the e2e tests release its lock, the test users'
 * homes reset before and after, stopped at the end or when the bench is interrupted (Ctrl-C runs
 * the process's exit handlers, not `finally`). One place for the parts that deploy (deploy,
 * release, drift).
 */
import { ROLES, resetUserHome, startTestHost, stopTestHost, type TestHostInfo } from "../../testkit/test-host";
import { log } from "./table";

export interface BenchHost {
  readonly info: TestHostInfo;
  /** How long the host took to come up, its lock wait included (ms). */
  readonly waitMs: number;
  /** Runs `f` before the homes are reset and the host stops (temp dirs, projects, the link). */
  onCleanup(f: () => void): void;
}

export async function withTestHost<T>(fn: (host: BenchHost) => Promise<T>): Promise<T> {
  log("  starting the test host (waits while e2e tests hold its lock)...");
  const started = Date.now();
  const info = await startTestHost({ lockTimeoutMs: 30 * 60_000 });
  const cleanups: (() => void)[] = [];
  const cleanup = () => {
    try {
      for (const f of cleanups.splice(0).reverse()) f();
      for (const role of ROLES) resetUserHome(info, role);
    } finally {
      stopTestHost(info);
    }
  };
  process.once("exit", cleanup);
  try {
    for (const role of ROLES) resetUserHome(info, role);
    return await fn({ info, waitMs: Date.now() - started, onCleanup: (f) => cleanups.push(f) });
  } finally {
    process.removeListener("exit", cleanup);
    cleanup();
  }
}
