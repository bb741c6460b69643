/**
 * Parts synth, fleet and plan: the project and generated fleets synthesized (by cdktf-cli or run
 * directly, one child process per run), and `terraform plan` of the fleets' stacks.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runOk } from "../../testkit/commands";
import { benchAppCommand } from "./app-command";
import { type Goal, growth, log, type Row, row } from "./table";

const REPO = path.resolve(__dirname, "..", "..");
const APPS = path.join(REPO, "bench", "apps");
const TSX = path.join(REPO, "node_modules", ".bin", "tsx");

export interface Context {
  /** A temp dir for this run. */
  readonly root: string;
  /** Terraform and cdktf unattended (automationEnv). */
  readonly env: NodeJS.ProcessEnv;
  readonly quick: boolean;
  /** Repetitions of each synth. */
  readonly repeats: number;
}

export interface PartResult {
  readonly rows: Row[];
  /** Samples and outputs, for latest.json. */
  readonly details: unknown;
  /** Why the part measured nothing. */
  readonly skipped?: string;
  /** Tables of their own (markdown), printed after the main table. */
  readonly tables?: readonly string[];
  /** Printed under the tables (what was left out, and why). */
  readonly notes?: readonly string[];
}

/** The synthesized stacks: their count, JSON bytes, and bytes of what lands on the hosts (the `file:` triggers). */
function stacksOf(outdir: string): { stacks: number; jsonBytes: number; renderedBytes: number } {
  const dir = path.join(outdir, "stacks");
  const out = { stacks: 0, jsonBytes: 0, renderedBytes: 0 };
  const walk = (o: unknown): void => {
    if (typeof o !== "object" || o === null) return;
    for (const [k, v] of Object.entries(o)) {
      if (k.startsWith("file:") && typeof v === "string") out.renderedBytes += Buffer.byteLength(v);
      else walk(v);
    }
  };
  for (const s of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const text = fs.readFileSync(path.join(dir, s, "cdk.tf.json"), "utf8");
    out.stacks++;
    out.jsonBytes += Buffer.byteLength(text);
    walk(JSON.parse(text));
  }
  if (out.stacks === 0) throw new Error(`no stack synthesized in ${outdir}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// synth: `npx cdktf synth` and the app command, of a copy of the project and of the empty app

/** Top-level entries of the repo that are not part of the app (everything else is copied). */
const NOT_APP = new Set(["node_modules", ".git", "cdktf.out", "state", "bench", "__tests__", "testkit", ".scratch", "coverage"]);

export function benchSynth(c: Context): PartResult {
  log("== synth: `npx cdktf synth` and the app run directly, project vs empty app");
  const app = path.join(c.root, "app");
  const empty = path.join(c.root, "empty");
  for (const e of fs.readdirSync(REPO)) if (!NOT_APP.has(e)) fs.cpSync(path.join(REPO, e), path.join(app, e), { recursive: true });
  // The empty project: the project's own cdktf.json, package.json and tsconfig.json, and the empty app as main.ts.
  fs.mkdirSync(empty);
  for (const f of ["cdktf.json", "package.json", "tsconfig.json"]) fs.copyFileSync(path.join(REPO, f), path.join(empty, f));
  fs.copyFileSync(path.join(APPS, "empty.ts"), path.join(empty, "main.ts"));
  for (const d of [app, empty]) fs.symlinkSync(path.join(REPO, "node_modules"), path.join(d, "node_modules"));
  const appCommand = (JSON.parse(fs.readFileSync(path.join(REPO, "cdktf.json"), "utf8")) as { app: string }).app;
  const once = (how: "cdktf" | "direct", dir: string) => {
    const outdir = path.join(dir, "cdktf.out");
    fs.rmSync(outdir, { recursive: true, force: true });
    const [cmd, args] = how === "cdktf" ? ["npx", ["cdktf", "synth"]] : ["sh", ["-c", appCommand]];
    const ms = runOk(cmd, args, { cwd: dir, env: { ...c.env, CDKTF_OUTDIR: outdir }, timeoutMs: 300_000 }).ms;
    stacksOf(outdir);
    return ms;
  };
  // After one untimed warm-up each (tsx's compile cache, the page cache), interleaved: drift on a
  // shared machine hits both alike.
  const ms = { cdktf: { app: [] as number[], empty: [] as number[] }, direct: { app: [] as number[], empty: [] as number[] } };
  for (const how of ["cdktf", "direct"] as const) {
    once(how, app);
    once(how, empty);
    for (let i = 0; i < c.repeats; i++) {
      const [a, e] = [once(how, app), once(how, empty)];
      ms[how].app.push(a);
      ms[how].empty.push(e);
      log(`  ${how} synth ${i + 1}/${c.repeats}: app ${(a / 1000).toFixed(2)} s, empty ${(e / 1000).toFixed(2)} s`);
    }
  }
  const [a, e] = [stacksOf(path.join(app, "cdktf.out")), stacksOf(path.join(empty, "cdktf.out"))];
  const [n, same] = [`median of ${c.repeats}`, "empty cdktf app, same way"];
  const compiled = benchAppCommand(c, app);
  return {
    rows: [
      row("synth", `npx cdktf synth, main.ts (${n})`, "s", ms.cdktf.app, [ms.cdktf.empty, same], ["<= 1.1x", (o, b) => o / b <= 1.1]),
      row("synth", `app alone: \`${appCommand}\` (${n})`, "s", ms.direct.app, [ms.direct.empty, same]),
      row("synth", `synthesized JSON, main.ts (${a.stacks} stacks)`, "KB", a.jsonBytes, [e.jsonBytes, "empty cdktf app"]),
      ...compiled.rows,
    ],
    details: { appCommand, ms, compiled: compiled.details },
  };
}

// ---------------------------------------------------------------------------------------------
// fleet: generated fleets (apps/fleet.ts) and the empty app, run directly (no cdktf-cli)

interface Spec {
  /** 0: the empty app. */
  readonly services: number;
  readonly instances: number;
  readonly resource: "null_resource" | "terraform_data";
  /** tsx's CLI (cdktf.json's `npx tsx`, minus npx) or `node --import tsx`. */
  readonly launcher: "tsx" | "node";
}

interface Samples extends Spec {
  /** One per run: its wall time, and the times and peak RSS the app reports. */
  readonly runs: { wallMs: number; inProcessMs: number; constructMs: number; synthMs: number; maxRssKB: number }[];
  /** Output of the last run (for `terraform plan`). */
  readonly outdir: string;
  stacks: number;
  jsonBytes: number;
  renderedBytes: number;
}

const spec = (services: number, instances: number, resource: Spec["resource"] = "null_resource", launcher: Spec["launcher"] = "tsx") =>
  ({ services, instances, resource, launcher }) as const;
const key = (s: Spec) => `${s.services}-${s.instances}-${s.resource}-${s.launcher}`;
/** Every configuration run by this benchmark process: the plan part reuses the fleet part's. */
const results = new Map<string, Samples>();
/** One figure of every run of a configuration. */
const all = (s: Spec, k: keyof Samples["runs"][number]) => (results.get(key(s)) as Samples).runs.map((r) => r[k]);

/** One run in its own process. */
function appRun(c: Context, s: Spec): Samples {
  const outdir = path.join(c.root, key(s));
  fs.rmSync(outdir, { recursive: true, force: true });
  const file = path.join(APPS, s.services ? "fleet.ts" : "empty.ts");
  const params = [file, s.resource, `${s.services}`, `${s.instances}`];
  const [cmd, args] = s.launcher === "tsx" ? [TSX, params] : [process.execPath, ["--import", "tsx", ...params]];
  // cwd: where `--import tsx` is resolved.
  const r = runOk(cmd, args, { cwd: REPO, env: { ...c.env, CDKTF_OUTDIR: outdir }, timeoutMs: 300_000 });
  const line = /^BENCH_RESULT (.*)$/m.exec(r.stdout);
  if (!line) throw new Error(`${file}: no BENCH_RESULT line in:\n${r.output}`);
  const rep = JSON.parse(line[1]) as { constructMs: number; synthMs: number; maxRssKB: number };
  const acc = results.get(key(s)) ?? { ...s, runs: [], outdir, stacks: 0, jsonBytes: 0, renderedBytes: 0 };
  acc.runs.push({ wallMs: r.ms, inProcessMs: rep.constructMs + rep.synthMs, ...rep });
  results.set(key(s), Object.assign(acc, stacksOf(outdir)));
  return acc;
}

const WHAT = { inProcessMs: "in process", wallMs: "wall", maxRssKB: "peak RSS" } as const;
const FIGURES = ["wallMs", "inProcessMs", "maxRssKB"] as const;

/** 10, 100 and 1000 services over 2, 10 and 50 instances (10 services only over 2 and 10). */
const FLEETS = [10, 100, 1000].flatMap((s) => [2, 10, 50].filter((m) => m <= s).map((m) => [s, m] as const));

export function benchFleet(c: Context): PartResult {
  const rounds = c.quick ? 1 : 3;
  log(`== fleet: generated fleets run directly (no cdktf-cli), ${rounds} round(s) over every configuration, median`);
  // null_resource: what main.ts synthesizes by default; terraform_data: what `plan` runs offline;
  // `node --import tsx`: the project's app command.
  const empties = [spec(0, 0), spec(0, 0, "terraform_data"), spec(0, 0, "null_resource", "node")];
  const fleets = [
    ...FLEETS.map(([s, m]) => spec(s, m)),
    ...FLEETS.filter(([s, m]) => s === 1000 || (s === 100 && m === 2)).map(([s, m]) => spec(s, m, "terraform_data")),
    spec(1000, 2, "null_resource", "node"),
    spec(1000, 50, "null_resource", "node"),
  ];
  // Round-robin: drift on a shared machine hits every configuration alike.
  for (let i = 0; i < rounds; i++) {
    for (const s of [...empties, ...fleets]) appRun(c, s);
    log(`  round ${i + 1}/${rounds} done`);
  }
  const rows: Row[] = [];
  for (const s of fleets) {
    const variant = [s.resource === "terraform_data" ? s.resource : "", s.launcher === "node" ? "node --import tsx" : ""].filter(Boolean);
    const tag = `direct synth ${s.services} svc / ${s.instances} inst${variant.length ? ` (${variant.join(", ")})` : ""}`;
    for (const k of FIGURES) {
      const base: [number[], string] = [
        all({ ...s, services: 0, instances: 0 }, k),
        k === "maxRssKB" ? "empty app" : "empty app, same way",
      ];
      const goal: Goal | undefined = k === "wallMs" && s.services === 1000 ? ["< 2 s", (o) => o < 2000] : undefined;
      rows.push(row("fleet", `${tag}: ${WHAT[k]}`, k === "maxRssKB" ? "MB" : "s", all(s, k), base, goal));
    }
  }
  for (const m of [2, 10, 50]) {
    for (const k of FIGURES)
      rows.push(growth("fleet", `growth 100 -> 1000 svc / ${m} inst, ${WHAT[k]}`, all(spec(100, m), k), all(spec(1000, m), k)));
  }
  // The library emits terraform_data itself: it should cost what null_resource does.
  const nullResource: [number[], string] = [all(spec(1000, 50), "inProcessMs"), "null_resource (same fleet)"];
  const tfData = all(spec(1000, 50, "terraform_data"), "inProcessMs");
  rows.push(row("fleet", "terraform_data vs null_resource, 1000 svc / 50 inst, in process", "s", tfData, nullResource));
  // Bytes per service: the marginal cost (1000 vs 100 services, same instances) against what a
  // host needs per service (its [program:x] section and its wrapper).
  for (const m of [2, 10, 50]) {
    const [a, b] = [results.get(key(spec(100, m))) as Samples, results.get(key(spec(1000, m))) as Samples];
    const perService = (k: "jsonBytes" | "renderedBytes") => (b[k] - a[k]) / 900;
    rows.push(
      row("fleet", `synthesized JSON per added service (${m} inst)`, "B", perService("jsonBytes"), [
        perService("renderedBytes"),
        "conf section + wrapper on host",
      ]),
    );
  }
  const f = results.get(key(spec(1000, 2))) as Samples;
  rows.push(
    row("fleet", "synthesized JSON, 1000 svc / 2 inst, total", "KB", f.jsonBytes, [f.renderedBytes, "configs + wrappers on hosts"]),
  );
  return { rows, details: [...results.values()].map(({ outdir, ...r }) => r) };
}

// ---------------------------------------------------------------------------------------------
// plan: `terraform plan` of the fleets' terraform_data stacks, one after the other

/** `terraform init` (offline: terraform_data needs no provider), then `terraform plan`, of every stack. */
function planAll(c: Context, outdir: string): { planMs: number; perStackMs: number[]; initMs: number } {
  const dir = path.join(outdir, "stacks");
  const out = { planMs: 0, perStackMs: [] as number[], initMs: 0 };
  for (const s of fs.readdirSync(dir).sort()) {
    const chdir = `-chdir=${path.join(dir, s)}`;
    out.initMs += runOk("terraform", [chdir, "init", "-input=false", "-no-color"], { env: c.env, timeoutMs: 120_000 }).ms;
    const plan = runOk("terraform", [chdir, "plan", "-input=false", "-lock=false", "-no-color"], { env: c.env, timeoutMs: 1_800_000 });
    out.perStackMs.push(plan.ms);
    out.planMs += plan.ms;
  }
  return out;
}

export function benchPlan(c: Context): PartResult {
  log("== plan: `terraform plan` of generated fleets (terraform_data), one stack after the other");
  const fleets = FLEETS.filter(([s, m]) => s > 10 && (c.quick ? m === 10 : s === 1000 || m < 50));
  // The fleet part's output when it ran, else one run now.
  const outdirOf = (s: Spec) => (results.get(key(s)) ?? appRun(c, s)).outdir;
  const empty = [1, 2, 3].map(() => planAll(c, outdirOf(spec(0, 0, "terraform_data"))).planMs);
  const plans: Record<string, ReturnType<typeof planAll>> = {};
  const rows: Row[] = [];
  for (const [s, m] of fleets) {
    const p = planAll(c, outdirOf(spec(s, m, "terraform_data")));
    plans[`${s}/${m}`] = p;
    log(`  ${s} services / ${m} instances: plan ${(p.planMs / 1000).toFixed(1)} s (init ${(p.initMs / 1000).toFixed(1)} s)`);
    const base = empty.map((ms) => ms * m);
    rows.push(row("plan", `terraform plan ${s} svc / ${m} inst (${m} stacks, sum)`, "s", p.planMs, [base, `${m} x empty stack plan`]));
  }
  for (const m of [2, 10]) {
    const [a, b] = [plans[`100/${m}`], plans[`1000/${m}`]];
    if (a && b) rows.push(growth("plan", `plan growth 100 -> 1000 svc / ${m} inst`, a.planMs, b.planMs));
  }
  return { rows, details: { emptyStackMs: empty, fleets: plans } };
}
