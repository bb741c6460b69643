/**
 * `npm run bench`: every figure of issue 6 next to its baseline, measured in the same run, and
 * their ratio. Prints one table (stdout; progress on stderr) and writes it, with every sample, to
 * bench/results/latest.json. See bench/README.md.
 *
 *   npm run bench                          everything
 *   npm run bench -- --quick               fewer repetitions, smaller plan
 *   npm run bench -- --only=synth,fleet    parts: synth, fleet, deploy, plan, release, drift
 *   npm run bench -- --repeats=5           repetitions of each synth
 *   npm run bench -- --deploy-repeats=5    repetitions of each deploy scenario
 *   npm run bench -- --delays=0,50         one-way delays of the simulated link (ms)
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { automationEnv, killRunning } from "../testkit/commands";
import { benchDeploy } from "./lib/deploy";
import { benchDrift } from "./lib/drift";
import { benchRelease } from "./lib/release";
import { benchFleet, benchPlan, benchSynth, type Context, type PartResult } from "./lib/synth";
import { log, PARTS, type Part, type Row, ratio, renderTable } from "./lib/table";

const REPO = path.resolve(__dirname, "..");
const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))?.split("=")[1];
const quick = argv.includes("--quick");
const only = (flag("only")?.split(",") ?? PARTS).filter((p): p is Part => (PARTS as readonly string[]).includes(p));
const repeats = Number(flag("repeats") ?? (quick ? 2 : 5));
const deployRepeats = Number(flag("deploy-repeats") ?? (quick ? 1 : 3));
const delaysMs = (flag("delays") ?? (quick ? "0,50" : "0,20,50")).split(",").map(Number);
const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;

/** First line of a command's output (stderr too: `ssh -V` prints there). */
function version(cmd: string, ...args: string[]): string {
  try {
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" };
    return execFileSync("sh", ["-c", '"$0" "$@" 2>&1', cmd, ...args], { encoding: "utf8", env }).split("\n")[0];
  } catch {
    return "unknown";
  }
}

function machine() {
  const pkg = (p: string) =>
    (JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", p, "package.json"), "utf8")) as { version: string }).version;
  const osName = /PRETTY_NAME="([^"]+)"/.exec(fs.existsSync("/etc/os-release") ? fs.readFileSync("/etc/os-release", "utf8") : "")?.[1];
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${osName ?? os.type()} (${os.release()})`,
    software: `node ${process.version}, ${version("terraform", "version")}, cdktf ${pkg("cdktf")}, cdktf-cli ${pkg("cdktf-cli")}, ${version("ssh", "-V")}, supervisor ${version("/usr/bin/python3", "-c", "import supervisor.options as o; print(o.VERSION)")}`,
  };
}

const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

async function main(): Promise<void> {
  const started = new Date();
  const m = { ...machine(), loadAverageAtStart: load() };
  log(`jaws-deploy benchmark ${started.toISOString()}: parts ${only.join(", ")}${quick ? " (quick)" : ""}`);
  log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}; ${m.software}`);
  log(`load average at start: ${m.loadAverageAtStart.join(" ")} (other work on the machine shows up as noise)`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-bench-"));
  const removeRoot = () => fs.rmSync(root, { recursive: true, force: true });
  process.once("exit", removeRoot); // Ctrl-C
  fs.writeFileSync(path.join(root, "terraform.rc"), "");
  const c: Context = { root, env: automationEnv(path.join(root, "terraform.rc")), quick, repeats };
  const run: Record<Part, () => PartResult | Promise<PartResult>> = {
    synth: () => benchSynth(c),
    fleet: () => benchFleet(c),
    deploy: () => benchDeploy({ repeats: deployRepeats, delaysMs, quick }),
    plan: () => benchPlan(c),
    release: () => benchRelease(deployRepeats),
    drift: () => benchDrift(deployRepeats),
  };
  const rows: Row[] = [];
  const tables: string[] = [];
  const details: Partial<Record<Part, unknown>> = {};
  const notes: string[] = [];
  for (const part of PARTS.filter((p) => only.includes(p))) {
    const partStarted = Date.now();
    try {
      const r = await run[part]();
      rows.push(...r.rows);
      details[part] = r.details;
      tables.push(...(r.tables ?? []));
      notes.push(...(r.notes ?? []));
      if (r.skipped) notes.push(`${part} skipped: ${r.skipped}`);
    } catch (e) {
      notes.push(`ERROR ${part}: ${(e as Error).message}`);
      log(`!! ${part} failed: ${(e as Error).stack ?? e}`);
      process.exitCode = 1;
    }
    log(`   (${part}: ${((Date.now() - partStarted) / 60000).toFixed(1)} min)`);
  }
  removeRoot();
  const finished = new Date();
  const table = renderTable(rows);
  const loadAverageAtEnd = load();
  const minutes = ((finished.getTime() - started.getTime()) / 60000).toFixed(1);
  process.stdout.write(
    [
      "",
      `jaws-deploy benchmark, ${started.toISOString()} (${minutes} min), command: ${command}`,
      `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB RAM, ${m.os}`,
      `software: ${m.software}`,
      `load average: ${m.loadAverageAtStart.join(" ")} at start, ${loadAverageAtEnd.join(" ")} at end`,
      "",
      table,
      "",
      ...tables.flatMap((t) => [t, ""]),
      ...notes,
      "",
    ].join("\n"),
  );
  const file = path.join(REPO, "bench", "results", "latest.json");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const json = { startedAt: started, finishedAt: finished, command, machine: { ...m, loadAverageAtEnd }, table, tables, notes, details };
  fs.writeFileSync(file, `${JSON.stringify({ ...json, rows: rows.map((r) => ({ ...r, ratio: ratio(r) })) }, null, 2)}\n`);
  log(`written: ${path.relative(process.cwd(), file)}`);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killRunning();
    process.exit(130);
  });
}

main().catch((e) => {
  killRunning();
  log(String((e as Error).stack ?? e));
  process.exit(1);
});
