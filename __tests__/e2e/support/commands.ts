/**
 * Running Terraform, cdktf and friends unattended from the e2e tests and the benchmark: one
 * environment and one way to run a command, shared by every project helper.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface CmdResult {
  code: number;
  /** stdout and stderr, interleaved as far as the pipes allow. */
  output: string;
  ms: number;
}

/**
 * The environment for Terraform and cdktf run by a test: an existing CLI config file (the
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

/**
 * Makes `dir` a cdktf project whose app is `app` (a command line): its cdktf.json, and an empty
 * Terraform CLI config file whose path is returned (for automationEnv).
 */
export function writeCdktfProject(dir: string, app: string, projectId: string): string {
  const cdktfJson = {
    language: "typescript",
    app,
    output: "cdktf.out",
    projectId,
    sendCrashReports: "false",
    terraformProviders: [],
    terraformModules: [],
  };
  fs.writeFileSync(path.join(dir, "cdktf.json"), `${JSON.stringify(cdktfJson, null, 2)}\n`);
  const rc = path.join(dir, "terraformrc");
  fs.writeFileSync(rc, "");
  return rc;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** @default 240_000 */
  readonly timeoutMs?: number;
}

export function runCommand(cmd: string, args: readonly string[], opts: RunOptions): CmdResult {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}`;
  return { code: r.status ?? -1, output, ms: Date.now() - t0 };
}

/** Like runCommand, without blocking the event loop (two stacks can apply at the same time). */
export function runCommandAsync(cmd: string, args: readonly string[], opts: RunOptions): Promise<CmdResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 240_000);
    child.on("error", (e) => {
      output += `\n${e.message}`;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output, ms: Date.now() - t0 });
    });
  });
}
