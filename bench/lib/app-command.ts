/**
 * The deploy path's own start-up: the app command of cdktf.json (`node --import tsx main.ts`)
 * against the same app compiled to JavaScript by tsc, run by plain node and by node with tsx's
 * loader (what a `.ts` JAWS_SITES_MODULE, the test site's, still needs), both synthesizing the
 * default sites; and what keeping such a build fresh costs (tsc's incremental check when nothing
 * changed). The outputs are compared byte for byte, and again without the stack traces cdktf
 * records for synth warnings in manifest.json (they name main.ts or main.js).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runOk } from "../../testkit/commands";
import type { Context, PartResult } from "./synth";
import { log, row } from "./table";

const TSC = path.resolve(__dirname, "..", "..", "node_modules", ".bin", "tsc");

/** Every file under `dir`, relative, with its bytes. */
function tree(dir: string, rel = ""): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) for (const [k, v] of tree(dir, r)) out.set(k, v);
    else out.set(r, fs.readFileSync(path.join(dir, r)));
  }
  return out;
}

/** Files that differ, are missing on one side or extra. */
function differences(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  return names.filter((n) => !a.get(n)?.equals(b.get(n) ?? Buffer.alloc(0)) || !b.has(n));
}

/**
 * cdktf's manifest.json without the stack traces of synth's warnings: they name the source files
 * and lines that raised them (main.ts or main.js), nothing Terraform reads.
 */
function withoutStackTraces(files: Map<string, Buffer>): Map<string, Buffer> {
  const manifest = files.get("manifest.json");
  if (!manifest) return files;
  const strip = (o: unknown): unknown =>
    Array.isArray(o)
      ? o.map(strip)
      : typeof o === "object" && o !== null
        ? Object.fromEntries(
            Object.entries(o)
              .filter(([k]) => k !== "stacktrace")
              .map(([k, v]) => [k, strip(v)]),
          )
        : o;
  return new Map([...files, ["manifest.json", Buffer.from(JSON.stringify(strip(JSON.parse(manifest.toString("utf8")))))]]);
}

/** `app`: a copy of the project (node_modules linked), as the synth part makes it. */
export function benchAppCommand(c: Context, app: string): PartResult {
  log("== app command: tsx against compiled JavaScript");
  // Inside the copy: node_modules resolves as it would for a build in the checkout.
  const js = path.join(app, "app-js");
  const tscArgs = [
    "main.ts",
    ...["--outDir", js, "--rootDir", app, "--target", "ES2022", "--module", "commonjs", "--moduleResolution", "node"],
    ...["--esModuleInterop", "--resolveJsonModule", "--skipLibCheck", "--incremental", "--tsBuildInfoFile", path.join(js, ".tsbuildinfo")],
  ];
  const buildMs = runOk(TSC, tscArgs, { cwd: app, timeoutMs: 300_000 }).ms;
  // What main.ts reads next to its sources: the templates and the known_hosts of the catalogue.
  fs.symlinkSync(path.join(app, "templates"), path.join(js, "templates"));
  fs.copyFileSync(path.join(app, "sites", "known_hosts"), path.join(js, "sites", "known_hosts"));
  const ways = {
    tsx: [process.execPath, "--import", "tsx", "main.ts"],
    js: [process.execPath, path.join(js, "main.js")],
    jsTsx: [process.execPath, "--import", "tsx", path.join(js, "main.js")],
  } as const;
  const once = (way: keyof typeof ways) => {
    const outdir = path.join(c.root, `app-out-${way}`);
    fs.rmSync(outdir, { recursive: true, force: true });
    const [cmd, ...args] = ways[way];
    return runOk(cmd, args, { cwd: app, env: { ...c.env, CDKTF_OUTDIR: outdir }, timeoutMs: 120_000 }).ms;
  };
  const ms: Record<keyof typeof ways, number[]> = { tsx: [], js: [], jsTsx: [] };
  const keys = Object.keys(ways) as (keyof typeof ways)[];
  for (const k of keys) once(k); // warm-up: tsx's cache, the page cache
  const n = c.repeats * 2;
  // Interleaved: drift on a shared machine hits every way alike.
  for (let i = 0; i < n; i++) for (const k of keys) ms[k].push(once(k));
  const [tsxOut, jsOut] = [tree(path.join(c.root, "app-out-tsx")), tree(path.join(c.root, "app-out-js"))];
  const diff = differences(tsxOut, jsOut);
  const diffApartFromTraces = differences(withoutStackTraces(tsxOut), withoutStackTraces(jsOut));
  const checkMs = [1, 2, 3].map(() => runOk(TSC, tscArgs, { cwd: app, timeoutMs: 300_000 }).ms);
  log(
    `  output of compiled JS ${diff.length ? `differs in ${diff.join(", ")}` : "byte-identical"} to tsx's; apart from warnings' stack traces: ${diffApartFromTraces.length ? `DIFFERS in ${diffApartFromTraces.join(", ")}` : "identical"}`,
  );
  const m = `median of ${n}`;
  const tsx: [number[], string] = [ms.tsx, "`node --import tsx main.ts` (cdktf.json)"];
  return {
    rows: [
      row("synth", `app compiled by tsc, \`node main.js\` (${m})`, "s", ms.js, tsx),
      row("synth", `app compiled by tsc, \`node --import tsx main.js\` (${m})`, "s", ms.jsTsx, tsx),
      row("synth", `files of cdktf.out differing, compiled vs tsx${diff.length ? ` (${diff.join(", ")})` : ""}`, "n", diff.length),
      row("synth", "same, apart from the stack traces of synth warnings in manifest.json", "n", diffApartFromTraces.length, undefined, [
        "0",
        (x) => x === 0,
      ]),
      row("synth", "tsc build of main.ts and its imports", "s", buildMs),
      row("synth", "tsc --incremental, nothing changed (median of 3)", "s", checkMs),
    ],
    details: { ms, buildMs, checkMs, differing: diff, differingApartFromStackTraces: diffApartFromTraces },
  };
}
