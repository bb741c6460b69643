/**
 * `npm run bench`: every figure of issue 6 next to its baseline, measured in the same run, and
 * their ratio. Prints a table and writes the same to bench/results/latest.json.
 *
 *   npm run bench                          everything (about 7 minutes on 2 cores)
 *   npm run bench -- --quick               fewer repetitions, smaller plan (about 3 minutes)
 *   npm run bench -- --only=synth,fleet    parts: synth, fleet, deploy, plan
 *   npm run bench -- --repeats=5           repetitions of each synth
 *   npm run bench -- --deploy-repeats=5    repetitions of each deploy scenario
 *
 * Parts:
 *   synth   `npx cdktf synth` of the project (main.ts) vs an empty cdktf app (one stack, one
 *           null_resource), and the same two apps run directly (cdktf.json's app command).
 *   fleet   generated fleets (10/100/1000 services over 2/10/50 instances) run directly:
 *           wall time, in-process time, peak RSS, growth 100 -> 1000; JSON bytes per service.
 *   deploy  the local test host (needs root): cold, no-op, one service changed, ours via
 *           `npx cdktf deploy` and `terraform apply`; the JAWS-style script on the same host.
 *   plan    `terraform plan` of the 1000-service fleets (terraform_data), vs empty stacks.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { automationEnv } from "../__tests__/e2e/support/commands";
import { benchDeploy, type DeployFigure, type DeployResults } from "./lib/deploy";
import { killLiveChildren, median, onInterrupt, runCleanups } from "./lib/proc";
import {
  type EmptyRun,
  emptyRun,
  type FleetRun,
  fleetRun,
  type Launcher,
  makeSynthProjects,
  type PlanRun,
  planAll,
  type SynthTimes,
  synthRounds,
} from "./lib/synth";

const REPO = path.resolve(__dirname, "..");
const PARTS = ["synth", "fleet", "deploy", "plan"] as const;
type Part = (typeof PARTS)[number];

// ---------------------------------------------------------------------------------------------
// arguments

const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const flagValue = (name: string) => flag(name)?.split("=")[1];
const quick = flag("quick") !== undefined;
const only = new Set<Part>((flagValue("only")?.split(",") ?? PARTS).filter((p): p is Part => (PARTS as readonly string[]).includes(p)));
const repeats = Number(flagValue("repeats") ?? (quick ? 2 : 5));
const deployRepeats = Number(flagValue("deploy-repeats") ?? (quick ? 1 : 3));
const fleetReps = quick ? 1 : 3;

const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------
// the table

type Unit = "s" | "MB" | "KB" | "B" | "n" | "x";

interface Row {
  readonly part: Part;
  readonly figure: string;
  readonly ours: number;
  readonly unit: Unit;
  readonly baseline?: number;
  /** What the baseline is. */
  readonly baselineIs?: string;
  readonly goal?: string;
  readonly met?: boolean;
  readonly samples?: readonly number[];
}

const rows: Row[] = [];
const add = (r: Row) => {
  rows.push(r);
};

/** A growth factor for 10x the services, against linear growth. */
const addGrowth = (part: Part, figure: string, growth: number) =>
  add({ part, figure, ours: growth, unit: "x", baseline: 10, baselineIs: "linear: 10x", goal: "<= 10x", met: growth <= 10 });

function fmt(v: number | undefined, unit: Unit): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  switch (unit) {
    case "s":
      return `${(v / 1000).toFixed(2)} s`;
    case "MB":
      return `${(v / 1024).toFixed(0)} MB`;
    case "KB":
      return `${(v / 1024).toFixed(1)} KB`;
    case "B":
      return `${Math.round(v)} B`;
    case "n":
      return String(Math.round(v * 10) / 10);
    case "x":
      return `${v.toFixed(2)}x`;
  }
}

function ratio(r: Row): string {
  if (r.baseline === undefined || r.unit === "x") return "";
  if (r.baseline === 0) return r.ours === 0 ? "=" : "";
  return `${(r.ours / r.baseline).toFixed(2)}x`;
}

function renderTable(): string {
  const header = ["part", "figure", "ours", "baseline", "baseline is", "ratio", "goal", "met"];
  const body = rows.map((r) => [
    r.part,
    r.figure,
    fmt(r.ours, r.unit),
    fmt(r.baseline, r.unit),
    r.baselineIs ?? "",
    ratio(r),
    r.goal ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// the machine

function cmdOut(cmd: string, args: string[]): string {
  try {
    // Through sh so that stderr is captured too: `ssh -V` prints there.
    return execFileSync("sh", ["-c", '"$0" "$@" 2>&1', cmd, ...args], {
      encoding: "utf8",
      env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" },
    }).trim();
  } catch {
    return "unknown";
  }
}

function machine() {
  const pkgVersion = (p: string) => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", p, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      return "unknown";
    }
  };
  let osName = os.type();
  try {
    osName = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? osName;
  } catch {
    /* keep os.type() */
  }
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${osName} (${os.release()})`,
    node: process.version,
    terraform: cmdOut("terraform", ["version"]).split("\n")[0],
    cdktf: pkgVersion("cdktf"),
    cdktfCli: pkgVersion("cdktf-cli"),
    openssh: cmdOut("ssh", ["-V"]) || "unknown",
    supervisor: cmdOut("/usr/bin/python3", ["-c", "import supervisor.options as o; print(o.VERSION)"]),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

// ---------------------------------------------------------------------------------------------
// parts

interface Details {
  synth?: { cdktf: SynthTimes; direct: SynthTimes };
  fleet?: { runs: FleetRun[]; empty: EmptyRun; emptyTfData: EmptyRun; emptyNode: EmptyRun };
  deploy?: DeployResults;
  plan?: { runs: PlanRun[]; emptyStackMs: number[] };
}
const details: Details = {};

async function partSynth(): Promise<void> {
  log("== synth: `npx cdktf synth` and the app run directly, project vs empty app");
  const p = makeSynthProjects();
  const forget = onInterrupt(() => fs.rmSync(p.root, { recursive: true, force: true }));
  try {
    const cdktf = await synthRounds(p, "cdktf", repeats, log);
    const direct = await synthRounds(p, "direct", repeats, log);
    details.synth = { cdktf, direct };
    const c = median(cdktf.ms.app);
    const ce = median(cdktf.ms.empty);
    add({
      part: "synth",
      figure: `npx cdktf synth, main.ts (median of ${repeats})`,
      ours: c,
      unit: "s",
      baseline: ce,
      baselineIs: "empty cdktf app, same way",
      goal: "<= 1.1x",
      met: c / ce <= 1.1,
      samples: cdktf.ms.app,
    });
    add({
      part: "synth",
      figure: `app alone: \`${cdktf.app.app}\` (median of ${repeats})`,
      ours: median(direct.ms.app),
      unit: "s",
      baseline: median(direct.ms.empty),
      baselineIs: "empty cdktf app, same way",
      samples: direct.ms.app,
    });
    add({
      part: "synth",
      figure: "synthesized JSON, main.ts (2 stacks)",
      ours: cdktf.bytes.app,
      unit: "KB",
      baseline: cdktf.bytes.empty,
      baselineIs: "empty cdktf app",
    });
  } finally {
    fs.rmSync(p.root, { recursive: true, force: true });
    forget();
  }
}

const FLEETS: readonly [number, number][] = [
  [10, 2],
  [10, 10],
  [100, 2],
  [100, 10],
  [100, 50],
  [1000, 2],
  [1000, 10],
  [1000, 50],
];

/** Concatenates the samples (array fields) of two results of the same configuration. */
function mergeSamples<T extends object>(a: T | undefined, b: T): T {
  // Plain result objects: their array fields hold one sample per run.
  if (!a) return b;
  const out: Record<string, unknown> = { ...(b as Record<string, unknown>) };
  for (const [k, v] of Object.entries(a)) {
    if (Array.isArray(v)) out[k] = [...v, ...((b as Record<string, unknown>)[k] as unknown[])];
  }
  return out as T;
}

async function partFleet(root: string, env: NodeJS.ProcessEnv): Promise<void> {
  log(`== fleet: generated fleets run directly (no cdktf-cli), ${fleetReps} round(s) over every configuration, median`);
  // null_resource: what main.ts synthesizes by default; terraform_data: what `plan` runs offline;
  // `node --import tsx` (one node process, no tsx CLI): the start-up the report suggests.
  const specs: { s: number; m: number; resource: FleetRun["resource"]; launcher: Launcher }[] = [
    ...FLEETS.map(([s, m]) => ({ s, m, resource: "null_resource" as const, launcher: "tsx" as const })),
    ...FLEETS.filter(([s, m]) => s === 1000 || (s === 100 && m === 2)).map(([s, m]) => ({
      s,
      m,
      resource: "terraform_data" as const,
      launcher: "tsx" as const,
    })),
    { s: 1000, m: 2, resource: "null_resource", launcher: "node" },
    { s: 1000, m: 50, resource: "null_resource", launcher: "node" },
  ];
  const emptySpecs: { resource: FleetRun["resource"]; launcher: Launcher }[] = [
    { resource: "null_resource", launcher: "tsx" },
    { resource: "terraform_data", launcher: "tsx" },
    { resource: "null_resource", launcher: "node" },
  ];
  // Round-robin: drift on a shared machine hits every configuration alike.
  const fleetAcc = new Map<string, FleetRun>();
  const emptyAcc = new Map<string, EmptyRun>();
  for (let i = 0; i < fleetReps; i++) {
    for (const e of emptySpecs) {
      const k = `${e.resource}/${e.launcher}`;
      emptyAcc.set(k, mergeSamples(emptyAcc.get(k), await emptyRun(root, env, e.resource, 1, e.launcher)));
    }
    for (const f of specs) {
      const k = `${f.s}/${f.m}/${f.resource}/${f.launcher}`;
      fleetAcc.set(k, mergeSamples(fleetAcc.get(k), await fleetRun(root, env, f.s, f.m, f.resource, 1, f.launcher)));
    }
    log(`  round ${i + 1}/${fleetReps} done`);
  }
  const emptyOf = (resource: FleetRun["resource"], launcher: Launcher) => emptyAcc.get(`${resource}/${launcher}`) as EmptyRun;
  const empty = emptyOf("null_resource", "tsx");
  const emptyTfData = emptyOf("terraform_data", "tsx");
  const emptyNode = emptyOf("null_resource", "node");
  for (const e of emptySpecs) {
    const r = emptyOf(e.resource, e.launcher);
    log(
      `  empty app (${e.resource}, ${e.launcher}): ${(median(r.wallMs) / 1000).toFixed(2)} s wall, ${(median(r.maxRssKB) / 1024).toFixed(0)} MB peak`,
    );
  }
  const runs = [...fleetAcc.values()];
  for (const r of runs) {
    log(
      `  ${String(r.services).padStart(4)} services / ${String(r.instances).padStart(2)} instances (${r.resource}, ${r.launcher}): ${(median(r.wallMs) / 1000).toFixed(2)} s wall, ` +
        `${(median(r.inProcessMs) / 1000).toFixed(2)} s in process (construct ${(median(r.constructMs) / 1000).toFixed(2)}, synth ${(median(r.synthMs) / 1000).toFixed(2)}), ` +
        `${(median(r.maxRssKB) / 1024).toFixed(0)} MB peak, ${(r.jsonBytes / 1024).toFixed(0)} KB JSON`,
    );
  }
  details.fleet = { runs, empty, emptyTfData, emptyNode };
  const find = (s: number, m: number, res: FleetRun["resource"] = "null_resource") =>
    runs.find((r) => r.services === s && r.instances === m && r.resource === res && r.launcher === "tsx");
  for (const r of runs) {
    const variant = [r.resource === "terraform_data" ? "terraform_data" : "", r.launcher === "node" ? "node --import tsx" : ""].filter(
      Boolean,
    );
    const tag = `${r.services} svc / ${r.instances} inst${variant.length ? ` (${variant.join(", ")})` : ""}`;
    const base = r.launcher === "node" ? emptyNode : r.resource === "terraform_data" ? emptyTfData : empty;
    add({
      part: "fleet",
      figure: `direct synth ${tag}: wall`,
      ours: median(r.wallMs),
      unit: "s",
      baseline: median(base.wallMs),
      baselineIs: "empty app, same way",
      goal: r.services === 1000 ? "< 2 s" : undefined,
      met: r.services === 1000 ? median(r.wallMs) < 2000 : undefined,
      samples: r.wallMs,
    });
    add({
      part: "fleet",
      figure: `direct synth ${tag}: in process`,
      ours: median(r.inProcessMs),
      unit: "s",
      baseline: median(base.inProcessMs),
      baselineIs: "empty app, same way",
      samples: r.inProcessMs,
    });
    add({
      part: "fleet",
      figure: `direct synth ${tag}: peak RSS`,
      ours: median(r.maxRssKB),
      unit: "MB",
      baseline: median(base.maxRssKB),
      baselineIs: "empty app",
    });
  }
  for (const m of [2, 10, 50]) {
    const a = find(100, m);
    const b = find(1000, m);
    if (!a || !b) continue;
    addGrowth("fleet", `growth 100 -> 1000 svc / ${m} inst, in process`, median(b.inProcessMs) / median(a.inProcessMs));
    addGrowth("fleet", `growth 100 -> 1000 svc / ${m} inst, wall`, median(b.wallMs) / median(a.wallMs));
    addGrowth("fleet", `growth 100 -> 1000 svc / ${m} inst, peak RSS`, median(b.maxRssKB) / median(a.maxRssKB));
  }
  // terraform_data and null_resource should cost the same (the library emits terraform_data itself).
  const nullRun = find(1000, 50);
  const tfRun = find(1000, 50, "terraform_data");
  if (nullRun && tfRun) {
    add({
      part: "fleet",
      figure: "terraform_data vs null_resource, 1000 svc / 50 inst, in process",
      ours: median(tfRun.inProcessMs),
      unit: "s",
      baseline: median(nullRun.inProcessMs),
      baselineIs: "null_resource (same fleet)",
    });
  }
  // Bytes per service: the marginal cost (1000 vs 100 services, same instances) against what a
  // host actually needs per service (its [program:x] section and its wrapper).
  for (const m of [2, 10, 50]) {
    const a = find(100, m);
    const b = find(1000, m);
    if (!a || !b) continue;
    add({
      part: "plan",
      figure: `synthesized JSON per added service (${m} inst)`,
      ours: (b.jsonBytes - a.jsonBytes) / 900,
      unit: "B",
      baseline: (b.renderedBytes - a.renderedBytes) / 900,
      baselineIs: "conf section + wrapper on host",
    });
  }
  const f = find(1000, 2);
  if (f) {
    add({
      part: "plan",
      figure: "synthesized JSON, 1000 svc / 2 inst, total",
      ours: f.jsonBytes,
      unit: "KB",
      baseline: f.renderedBytes,
      baselineIs: "configs + wrappers on hosts",
    });
  }
}

async function partPlan(root: string, env: NodeJS.ProcessEnv): Promise<void> {
  log("== plan: `terraform plan` of generated fleets (terraform_data), one stack after the other");
  // [services, instances]
  const fleets: [number, number][] = quick
    ? [
        [100, 10],
        [1000, 10],
      ]
    : [
        [100, 2],
        [1000, 2],
        [100, 10],
        [1000, 10],
        [1000, 50],
      ];
  const runs: PlanRun[] = [];
  // Baseline: `terraform plan` of the empty app's terraform_data stack.
  const empty = details.fleet?.emptyTfData ?? (await emptyRun(root, env, "terraform_data", 1));
  const emptyStackMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await planAll(empty.outdir, env, "empty", 120_000);
    if (r.ok) emptyStackMs.push(r.planMs);
  }
  const emptyPlan = median(emptyStackMs);
  log(`  empty stack: ${(emptyPlan / 1000).toFixed(2)} s`);
  const results = new Map<string, PlanRun>();
  for (const [s, m] of fleets) {
    const fleet =
      details.fleet?.runs.find((r) => r.services === s && r.instances === m && r.resource === "terraform_data") ??
      (await fleetRun(root, env, s, m, "terraform_data", 1));
    const r = await planAll(fleet.outdir, env, `${s}/${m}`, 30 * 60_000);
    runs.push(r);
    log(
      `  ${s} services / ${m} instances: plan ${(r.planMs / 1000).toFixed(1)} s over ${r.stacks} stacks (init ${(r.initMs / 1000).toFixed(1)} s)${r.ok ? "" : ` FAILED ${r.error}`}`,
    );
    add({
      part: "plan",
      figure: `terraform plan ${s} svc / ${m} inst (${m} stacks, sum)`,
      ours: r.planMs,
      unit: "s",
      baseline: emptyPlan * m,
      baselineIs: `${m} x empty stack plan`,
      samples: r.perStackMs,
    });
    results.set(`${s}/${m}`, r);
  }
  for (const m of [2, 10]) {
    const a = results.get(`100/${m}`);
    const b = results.get(`1000/${m}`);
    if (!a || !b) continue;
    addGrowth("plan", `plan growth 100 -> 1000 svc / ${m} inst`, b.planMs / a.planMs);
  }
  details.plan = { runs, emptyStackMs };
}

function deployRows(d: DeployResults): void {
  const pick = (list: DeployFigure[], scenario: string, via: string) => list.filter((f) => f.scenario === scenario && f.via === via);
  const med = (fs_: DeployFigure[], key: (f: DeployFigure) => number) => median(fs_.map(key));
  const baseNoop = pick(d.baseline, "no-op", "jaws-deploy.sh");
  const baseChange = pick(d.baseline, "one service changed", "jaws-deploy.sh");
  for (const [scenario, via] of [
    ["cold", "npx cdktf deploy"],
    ["no-op", "npx cdktf deploy"],
    ["one service changed", "npx cdktf deploy"],
    ["no-op", "terraform apply"],
    ["one service changed", "terraform apply"],
  ] as const) {
    const figs = pick(d.ours, scenario, via);
    if (figs.length === 0) continue;
    const base = scenario === "no-op" ? baseNoop : scenario === "one service changed" ? baseChange : [];
    const hasBase = base.length > 0;
    const n = figs.length > 1 ? `, median of ${figs.length}` : "";
    const tag = `${scenario} (${via}${n})`;
    const failed = figs.filter((f) => !f.ok).length;
    const baseIs = hasBase ? `JAWS script, ${scenario}` : undefined;
    add({
      part: "deploy",
      figure: `${tag}: wall${failed ? ` [${failed} FAILED]` : ""}`,
      ours: med(figs, (f) => f.wallMs),
      unit: "s",
      baseline: hasBase ? med(base, (f) => f.wallMs) : undefined,
      baselineIs: baseIs,
      samples: figs.map((f) => f.wallMs),
    });
    if (via === "npx cdktf deploy") {
      add({
        part: "deploy",
        figure: `${tag}: until Terraform starts (cdktf-cli + synth)`,
        ours: med(figs, (f) => f.beforeTerraformMs ?? Number.NaN),
        unit: "s",
      });
    }
    add({
      part: "deploy",
      figure: `${tag}: remote part`,
      ours: med(figs, (f) => f.remoteMs),
      unit: "s",
      baseline: hasBase ? med(base, (f) => f.remoteMs) : undefined,
      baselineIs: baseIs,
    });
    const sessions = Math.max(...figs.map((f) => f.sshSessions));
    add({
      part: "deploy",
      figure: `${tag}: SSH sessions (max)`,
      ours: sessions,
      unit: "n",
      baseline: hasBase ? Math.max(...base.map((f) => f.sshSessions)) : undefined,
      baselineIs: baseIs,
      goal: scenario === "no-op" ? "0" : scenario === "one service changed" ? "<= 2" : undefined,
      met: scenario === "no-op" ? sessions === 0 : scenario === "one service changed" ? sessions <= 2 : undefined,
    });
    const restarted = figs.map((f) => f.restarts.restarted);
    const restartedMax = Math.max(...restarted);
    const restartedMin = Math.min(...restarted);
    add({
      part: "deploy",
      figure:
        scenario === "cold"
          ? `${tag}: processes started (supervisord + programs)`
          : `${tag}: processes restarted${restartedMax !== restartedMin ? ` (${restartedMin}..${restartedMax})` : ""}`,
      ours: scenario === "cold" ? figs[0].restarts.started + figs[0].restarts.supervisordStarted : restartedMax,
      unit: "n",
      baseline: hasBase ? Math.max(...base.map((f) => f.restarts.restarted)) : undefined,
      baselineIs: baseIs,
      goal: scenario === "no-op" ? "0" : scenario === "one service changed" ? "exactly 1" : undefined,
      met:
        scenario === "no-op"
          ? restartedMax === 0
          : scenario === "one service changed"
            ? restartedMax === 1 && restartedMin === 1
            : undefined,
    });
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = new Date();
  const m = machine();
  log(`jaws-deploy benchmark ${started.toISOString()}: parts ${[...only].join(", ")}${quick ? " (quick)" : ""}`);
  log(
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}; node ${m.node}, ${m.terraform}, cdktf ${m.cdktf}, cdktf-cli ${m.cdktfCli}`,
  );
  log(`load average at start: ${m.loadAverageAtStart.join(" ")} (other work on the machine shows up as noise)`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-"));
  fs.writeFileSync(path.join(root, "terraform.rc"), "");
  const forgetRoot = onInterrupt(() => fs.rmSync(root, { recursive: true, force: true }));
  const env = automationEnv(path.join(root, "terraform.rc"));
  const errors: string[] = [];
  const part = async (name: Part, fn: () => Promise<void>) => {
    if (!only.has(name)) return;
    try {
      await fn();
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message}`);
      log(`!! ${name} failed: ${(e as Error).stack ?? e}`);
    }
  };
  try {
    await part("synth", partSynth);
    await part("fleet", () => partFleet(root, env));
    await part("deploy", async () => {
      log("== deploy: local test host");
      const d = await benchDeploy({ repeats: deployRepeats, log });
      details.deploy = d;
      if (d.skipped) log(`  skipped: ${d.skipped}`);
      deployRows(d);
    });
    await part("plan", () => partPlan(root, env));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    forgetRoot();
  }
  // In part order, whatever order they were measured in.
  rows.sort((a, b) => PARTS.indexOf(a.part) - PARTS.indexOf(b.part));
  const finished = new Date();
  const table = renderTable();
  const loadEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const out = [
    "",
    `jaws-deploy benchmark, ${started.toISOString()} (${((finished.getTime() - started.getTime()) / 60000).toFixed(1)} min), command: npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB RAM, ${m.os}`,
    `software: node ${m.node}, ${m.terraform}, cdktf ${m.cdktf}, cdktf-cli ${m.cdktfCli}, ${m.openssh}, supervisor ${m.supervisor}`,
    `load average: ${m.loadAverageAtStart.join(" ")} at start, ${loadEnd.join(" ")} at end`,
    "",
    table,
    "",
    ...(details.deploy?.skipped ? [`deploy skipped: ${details.deploy.skipped}`] : []),
    ...errors.map((e) => `ERROR ${e}`),
  ].join("\n");
  process.stdout.write(`${out}\n`);
  const resultsDir = path.join(REPO, "bench", "results");
  fs.mkdirSync(resultsDir, { recursive: true });
  const json = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    machine: { ...m, loadAverageAtEnd: loadEnd },
    rows: rows.map((r) => ({ ...r, ratio: r.baseline ? r.ours / r.baseline : undefined })),
    table,
    details: stripOutdirs(details),
    errors,
  };
  fs.writeFileSync(path.join(resultsDir, "latest.json"), `${JSON.stringify(json, null, 2)}\n`);
  log(`written: ${path.relative(process.cwd(), path.join(resultsDir, "latest.json"))}`);
  if (errors.length) process.exitCode = 1;
}

/** Temp paths mean nothing after the run. */
function stripOutdirs(d: Details): unknown {
  return JSON.parse(JSON.stringify(d, (k, v) => (k === "outdir" ? undefined : v)));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killLiveChildren();
    runCleanups();
    process.exit(130);
  });
}

main().catch((e) => {
  killLiveChildren();
  log(String((e as Error).stack ?? e));
  process.exit(1);
});
