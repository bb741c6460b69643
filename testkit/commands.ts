/**
 * The one way tests, the test host and the benchmark run a command: synchronously (`run`) or
 * without blocking the event loop (`start`), bounded by a timeout, output captured, and for
 * `start` every line stamped with the time it arrived (to order two deploys, or to read the remote
 * part of a deploy off Terraform's progress lines).
 */
import { spawn, spawnSync } from "node:child_process";

export interface StampedLine {
  /** When the line arrived (epoch milliseconds): comparable between two commands. */
  readonly t: number;
  readonly stream: "out" | "err";
  readonly line: string;
}

export interface RunResult {
  /** Exit code; -1 when killed or not started. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr (interleaved as they arrived for `start`; one after the other for `run`). */
  readonly output: string;
  readonly ms: number;
  readonly timedOut: boolean;
  /** `start` only: every line, stamped. */
  readonly lines: readonly StampedLine[];
}

export interface RunOptions {
  readonly cwd?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default 240_000 */
  readonly timeoutMs?: number;
  /** stdin. @default empty */
  readonly input?: string;
}

/** Runs a command to its end. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input ?? "",
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = r.stdout ?? "";
  const stderr = `${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}${r.signal ? `\nkilled by ${r.signal}` : ""}`;
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
  return { code: r.status ?? -1, stdout, stderr, output: stdout + stderr, ms: Date.now() - t0, timedOut, lines: [] };
}

/** Like `run`, but throws (with the end of the output) unless the command exits 0. */
export function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`'${[cmd, ...args].join(" ")}' exited ${r.code}:\n${r.output.trim().split("\n").slice(-40).join("\n")}`);
  return r;
}

/** A command running in its own process group (a timeout kills it and everything it started). */
export interface Running {
  readonly lines: StampedLine[];
  readonly done: Promise<RunResult>;
  /** Arrival time of the first line matching `re`, if any yet. */
  at(re: RegExp): number | undefined;
  /** Resolves with the arrival time of the first line matching `re`; rejects when the command ends first or on timeout. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<number>;
}

/** Process groups started by `start` that still run: `killRunning` ends them (Ctrl-C of the benchmark). */
const groups = new Set<number>();

export function killRunning(): void {
  for (const pgid of groups) killGroup(pgid);
  groups.clear();
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // gone
  }
}

export function start(cmd: string, args: readonly string[], opts: RunOptions = {}): Running {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
  const pgid = child.pid;
  if (pgid !== undefined) groups.add(pgid);
  const lines: StampedLine[] = [];
  const text = { out: "", err: "", all: "" };
  const partial = { out: "", err: "" };
  const onData = (stream: "out" | "err") => (buf: Buffer) => {
    const s = buf.toString("utf8");
    text[stream] += s;
    text.all += s;
    const parts = (partial[stream] + s).split("\n");
    partial[stream] = parts.pop() ?? "";
    for (const line of parts) lines.push({ t: Date.now(), stream, line });
  };
  child.stdout.on("data", onData("out"));
  child.stderr.on("data", onData("err"));
  child.stdin.on("error", () => {}); // the command may not read its stdin
  child.stdin.end(opts.input ?? "");
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (pgid !== undefined) killGroup(pgid);
  }, opts.timeoutMs ?? 240_000);
  let ended = false;
  const done = new Promise<RunResult>((resolve) => {
    let spawnError = "";
    child.on("error", (e) => {
      spawnError = `\n${e.message}`;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      ended = true;
      if (pgid !== undefined) groups.delete(pgid);
      for (const s of ["out", "err"] as const) if (partial[s]) lines.push({ t: Date.now(), stream: s, line: partial[s] });
      const tail = spawnError + (timedOut ? "\n(timed out)" : "");
      resolve({
        code: code ?? -1,
        stdout: text.out,
        stderr: text.err + tail,
        output: text.all + tail,
        ms: Date.now() - t0,
        timedOut,
        lines,
      });
    });
  });
  const at = (re: RegExp) => lines.find((l) => re.test(l.line))?.t;
  return {
    lines,
    done,
    at,
    async waitForLine(re, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const t = at(re);
        if (t !== undefined) return t;
        if (ended || Date.now() > deadline)
          throw new Error(`no line matching ${re} (${ended ? "the command ended" : "timed out"}):\n${text.all}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/**
 * The environment for Terraform and cdktf run unattended: an existing CLI config file (the
 * machine's may point at a missing one), no update check, no prompt, no colours.
 */
export function automationEnv(cliConfigFile: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    TF_CLI_CONFIG_FILE: cliConfigFile,
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  };
}
