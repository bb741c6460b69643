/**
 * Child processes for the benchmark: bounded by a timeout (the whole process group is killed),
 * every output line stamped with the time it arrived, so the remote part of a deploy can be
 * read off Terraform's own progress lines.
 */
import { spawn } from "node:child_process";

export interface StampedLine {
  /** ms since the command was started. */
  readonly t: number;
  readonly stream: "out" | "err";
  readonly line: string;
}

export interface RunResult {
  readonly code: number;
  readonly signal?: string;
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly lines: readonly StampedLine[];
  readonly timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Default 10 min. */
  timeoutMs?: number;
  input?: string;
}

/** Process groups we started and that are still running: killed on Ctrl-C. */
const live = new Set<number>();

/** Synchronous clean-ups (temp dirs, the test host) run when the benchmark is interrupted. */
const cleanups = new Set<() => void>();

/** Registers a clean-up for Ctrl-C; call the returned function once it has been done normally. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export function runCleanups(): void {
  for (const fn of [...cleanups].reverse()) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
  cleanups.clear();
}

export function killLiveChildren(): void {
  for (const pgid of live) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  live.clear();
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      // Own process group: a timeout kills the command and everything it started.
      detached: true,
    });
    const pgid = child.pid;
    if (pgid !== undefined) live.add(pgid);
    const lines: StampedLine[] = [];
    const chunks = { out: [] as string[], err: [] as string[] };
    const partial = { out: "", err: "" };
    const onData = (stream: "out" | "err") => (buf: Buffer) => {
      const t = performance.now() - t0;
      const text = buf.toString("utf8");
      chunks[stream].push(text);
      const parts = (partial[stream] + text).split("\n");
      partial[stream] = parts.pop() ?? "";
      for (const line of parts) lines.push({ t, stream, line });
    };
    child.stdout.on("data", onData("out"));
    child.stderr.on("data", onData("err"));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pgid !== undefined) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }, opts.timeoutMs ?? 600_000);
    let spawnError = "";
    child.on("error", (e) => {
      spawnError = e.message;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (pgid !== undefined) live.delete(pgid);
      const ms = performance.now() - t0;
      for (const s of ["out", "err"] as const) if (partial[s]) lines.push({ t: ms, stream: s, line: partial[s] });
      resolve({
        code: code ?? -1,
        signal: signal ?? undefined,
        ms,
        stdout: chunks.out.join(""),
        stderr: chunks.err.join("") + (spawnError ? `\n${spawnError}` : "") + (timedOut ? "\n(timed out)" : ""),
        lines,
        timedOut,
      });
    });
    child.stdin.on("error", () => {
      /* the command may not read its stdin */
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Like run, but throws (with the tail of the output) unless the command exits 0. */
export async function runOk(what: string, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-40).join("\n");
    throw new Error(`${what} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ""}${r.timedOut ? ", timed out" : ""}):\n${tail}`);
  }
  return r;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
