/**
 * Part 1 (synth) and part 4 (plan size) of the benchmark.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { automationEnv } from "../../__tests__/e2e/support/commands";
import { type RunResult, run, runOk } from "./proc";

const REPO = path.resolve(__dirname, "..", "..");
const TSX = path.join(REPO, "node_modules", ".bin", "tsx");

/** Top-level entries of the repo that are not part of the app (everything else is copied). */
const NOT_APP = new Set(["node_modules", ".git", "cdktf.out", "state", "bench", "__tests__", ".scratch", "coverage", ".gitlab-ci-local"]);

export interface SynthProjects {
  readonly root: string;
  /** name -> project dir: `app` (a copy of the project), `empty` (bench/apps/empty.ts as main.ts). */
  readonly dirs: Readonly<Record<string, string>>;
  readonly env: NodeJS.ProcessEnv;
}

export function makeSynthProjects(): SynthProjects {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-synth-"));
  const rc = path.join(root, "terraform.rc");
  fs.writeFileSync(rc, "");
  const app = path.join(root, "app");
  const empty = path.join(root, "empty");
  fs.mkdirSync(app);
  fs.mkdirSync(empty);
  for (const e of fs.readdirSync(REPO)) {
    if (NOT_APP.has(e)) continue;
    fs.cpSync(path.join(REPO, e), path.join(app, e), { recursive: true });
  }
  // The empty project: the project's own cdktf.json, package.json and tsconfig.json, nothing else.
  for (const f of ["cdktf.json", "package.json", "tsconfig.json"]) fs.copyFileSync(path.join(REPO, f), path.join(empty, f));
  fs.copyFileSync(path.join(REPO, "bench", "apps", "empty.ts"), path.join(empty, "main.ts"));
  for (const d of [app, empty]) fs.symlinkSync(path.join(REPO, "node_modules"), path.join(d, "node_modules"));
  const dirs: Record<string, string> = { app, empty };
  return { root, dirs, env: automationEnv(rc) };
}

function stackJsonBytes(outdir: string): { stacks: number; bytes: number } {
  const stacksDir = path.join(outdir, "stacks");
  let bytes = 0;
  let stacks = 0;
  for (const s of fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : []) {
    const f = path.join(stacksDir, s, "cdk.tf.json");
    if (fs.existsSync(f)) {
      stacks++;
      bytes += fs.statSync(f).size;
    }
  }
  return { stacks, bytes };
}

function appCommand(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, "cdktf.json"), "utf8")) as { app: string }).app;
}

export interface SynthTimes {
  /** name -> wall times (ms). */
  readonly ms: Record<string, number[]>;
  /** name -> bytes of the synthesized stack JSON. */
  readonly bytes: Record<string, number>;
  /** name -> the app command. */
  readonly app: Record<string, string>;
}

/**
 * `npx cdktf synth` of each project, or (`direct`) the app command of its cdktf.json run by a shell
 * the way cdktf-cli runs it, without cdktf-cli. Round-robin (app, empty, app, ...) after one
 * untimed warm-up each (tsx's compile cache, the page cache), so drift on a shared machine hits all
 * of them alike.
 */
export async function synthRounds(p: SynthProjects, how: "cdktf" | "direct", n: number, log: (s: string) => void): Promise<SynthTimes> {
  const once = async (dir: string): Promise<number> => {
    fs.rmSync(path.join(dir, "cdktf.out"), { recursive: true, force: true });
    const [cmd, args] = how === "cdktf" ? ["npx", ["cdktf", "synth"]] : ["sh", ["-c", appCommand(dir)]];
    const r = await runOk(`${how} synth in ${dir}`, cmd, args, {
      cwd: dir,
      env: { ...p.env, CDKTF_OUTDIR: path.join(dir, "cdktf.out") },
      timeoutMs: 300_000,
    });
    if (stackJsonBytes(path.join(dir, "cdktf.out")).stacks === 0) throw new Error(`${how} synth in ${dir} wrote no stack`);
    return r.ms;
  };
  const names = Object.keys(p.dirs);
  const ms: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (const k of names) await once(p.dirs[k]);
  for (let i = 0; i < n; i++) {
    for (const k of names) ms[k].push(await once(p.dirs[k]));
    log(`  ${how} synth ${i + 1}/${n}: ${names.map((k) => `${k} ${(ms[k][i] / 1000).toFixed(2)} s`).join(", ")}`);
  }
  return {
    ms,
    bytes: Object.fromEntries(names.map((k) => [k, stackJsonBytes(path.join(p.dirs[k], "cdktf.out")).bytes])),
    app: Object.fromEntries(names.map((k) => [k, appCommand(p.dirs[k])])),
  };
}

// ---------------------------------------------------------------------------------------------
// generated fleets, run directly (tsx, no cdktf-cli), one child process per run

export interface AppReport {
  readonly startupMs: number;
  readonly constructMs: number;
  readonly synthMs: number;
  readonly inProcessMs?: number;
  readonly maxRssKB: number;
  readonly renderedBytes?: number;
}

/** How an app is started: tsx's CLI (as cdktf.json's `npx tsx main.ts`, minus npx) or `node --import tsx`. */
export type Launcher = "tsx" | "node";

function launch(launcher: Launcher, file: string): [string, string[]] {
  return launcher === "tsx" ? [TSX, [file]] : [process.execPath, ["--import", "tsx", file]];
}

export interface FleetRun {
  readonly launcher: Launcher;
  readonly services: number;
  readonly instances: number;
  readonly resource: "null_resource" | "terraform_data";
  /** Whole process: node start, tsx, imports, construction, synth, exit. */
  readonly wallMs: number[];
  readonly inProcessMs: number[];
  readonly constructMs: number[];
  readonly synthMs: number[];
  readonly maxRssKB: number[];
  readonly jsonBytes: number;
  readonly stacks: number;
  readonly renderedBytes: number;
  /** Output of the last run (kept for `terraform plan`). */
  readonly outdir: string;
}

function parseReport(r: RunResult): AppReport {
  const line = r.stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (!line) throw new Error(`no BENCH_RESULT line in:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice("BENCH_RESULT ".length)) as AppReport;
}

export async function fleetRun(
  root: string,
  env: NodeJS.ProcessEnv,
  services: number,
  instances: number,
  resource: FleetRun["resource"],
  reps: number,
  launcher: Launcher = "tsx",
): Promise<FleetRun> {
  const outdir = path.join(root, `fleet-${services}-${instances}-${resource}-${launcher}`);
  const res: FleetRun = {
    launcher,
    services,
    instances,
    resource,
    wallMs: [],
    inProcessMs: [],
    constructMs: [],
    synthMs: [],
    maxRssKB: [],
    jsonBytes: 0,
    stacks: 0,
    renderedBytes: 0,
    outdir,
  };
  for (let i = 0; i < reps; i++) {
    fs.rmSync(outdir, { recursive: true, force: true });
    const [cmd, args] = launch(launcher, path.join(REPO, "bench", "apps", "fleet.ts"));
    const r = await runOk(`fleet ${services}/${instances}`, cmd, args, {
      cwd: REPO, // where `--import tsx` is resolved; the output goes to BENCH_OUTDIR
      env: {
        ...env,
        BENCH_SERVICES: String(services),
        BENCH_INSTANCES: String(instances),
        BENCH_RESOURCE: resource,
        BENCH_OUTDIR: outdir,
      },
      timeoutMs: 300_000,
    });
    const rep = parseReport(r);
    res.wallMs.push(r.ms);
    res.inProcessMs.push(rep.inProcessMs ?? rep.constructMs + rep.synthMs);
    res.constructMs.push(rep.constructMs);
    res.synthMs.push(rep.synthMs);
    res.maxRssKB.push(rep.maxRssKB);
    const sj = stackJsonBytes(outdir);
    Object.assign(res, { renderedBytes: rep.renderedBytes ?? 0, jsonBytes: sj.bytes, stacks: sj.stacks });
  }
  return res;
}

export interface EmptyRun {
  readonly launcher: Launcher;
  readonly wallMs: number[];
  readonly inProcessMs: number[];
  readonly maxRssKB: number[];
  readonly jsonBytes: number;
  readonly outdir: string;
}

/** The empty app run the same way as a fleet (tsx, one child process). */
export async function emptyRun(
  root: string,
  env: NodeJS.ProcessEnv,
  resource: FleetRun["resource"],
  reps: number,
  launcher: Launcher = "tsx",
): Promise<EmptyRun> {
  const outdir = path.join(root, `empty-${resource}-${launcher}`);
  const res: EmptyRun = { launcher, wallMs: [], inProcessMs: [], maxRssKB: [], jsonBytes: 0, outdir };
  for (let i = 0; i < reps; i++) {
    fs.rmSync(outdir, { recursive: true, force: true });
    const [cmd, args] = launch(launcher, path.join(REPO, "bench", "apps", "empty.ts"));
    const r = await runOk("empty app", cmd, args, {
      cwd: REPO,
      env: { ...env, BENCH_REPORT: "1", BENCH_EMPTY_RESOURCE: resource, CDKTF_OUTDIR: outdir },
      timeoutMs: 120_000,
    });
    const rep = parseReport(r);
    res.wallMs.push(r.ms);
    res.inProcessMs.push(rep.constructMs + rep.synthMs);
    res.maxRssKB.push(rep.maxRssKB);
    Object.assign(res, { jsonBytes: stackJsonBytes(outdir).bytes });
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// terraform plan

export interface PlanRun {
  readonly label: string;
  readonly stacks: number;
  readonly initMs: number;
  /** Sum of the stacks' `terraform plan` times (run one after the other). */
  readonly planMs: number;
  readonly perStackMs: number[];
  readonly ok: boolean;
  readonly error?: string;
}

/** `terraform init` (offline: terraform_data needs no provider) then `terraform plan` of every stack. */
export async function planAll(outdir: string, env: NodeJS.ProcessEnv, label: string, timeoutMs: number): Promise<PlanRun> {
  const stacksDir = path.join(outdir, "stacks");
  const stacks = fs.readdirSync(stacksDir).sort();
  let initMs = 0;
  const perStackMs: number[] = [];
  const deadline = Date.now() + timeoutMs;
  for (const s of stacks) {
    const chdir = `-chdir=${path.join(stacksDir, s)}`;
    const init = await run("terraform", [chdir, "init", "-input=false", "-no-color"], { env, timeoutMs: 120_000 });
    initMs += init.ms;
    if (init.code !== 0)
      return { label, stacks: stacks.length, initMs, planMs: Number.NaN, perStackMs, ok: false, error: init.stdout + init.stderr };
    const left = deadline - Date.now();
    if (left <= 0)
      return { label, stacks: stacks.length, initMs, planMs: Number.NaN, perStackMs, ok: false, error: "time budget exhausted" };
    const plan = await run("terraform", [chdir, "plan", "-input=false", "-lock=false", "-no-color"], { env, timeoutMs: left });
    if (plan.code !== 0) {
      return {
        label,
        stacks: stacks.length,
        initMs,
        planMs: Number.NaN,
        perStackMs,
        ok: false,
        error: (plan.stdout + plan.stderr).slice(-2000),
      };
    }
    perStackMs.push(plan.ms);
  }
  return { label, stacks: stacks.length, initMs, planMs: perStackMs.reduce((a, b) => a + b, 0), perStackMs, ok: true };
}
