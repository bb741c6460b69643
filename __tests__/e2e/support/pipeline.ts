/**
 * `.gitlab-ci.yml` read as GitLab reads it (extends merged, parallel:matrix expanded), a check of
 * the commands its jobs run, and a throw-away copy of the working tree for `gitlab-ci-local`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { runOk } from "../../../testkit/commands";
import { BIN, REPO } from "../../../testkit/project";

/** Top-level keys that are not jobs (GitLab's global keywords). */
const GLOBAL_KEYWORDS = new Set("stages variables default workflow include image services cache before_script after_script".split(" "));

type Job = Record<string, unknown> & {
  script?: string[];
  before_script?: string[];
  parallel?: { matrix?: Record<string, string | string[]>[] };
  rules?: { if?: string; when?: string }[];
  resource_group?: string;
  variables?: Record<string, string>;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** GitLab's `extends` merge: hashes deep-merged, everything else (arrays too) replaced. */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** The YAML as parsed, and its visible jobs with `extends` resolved. */
export function readPipeline(file = path.join(REPO, ".gitlab-ci.yml")): { raw: Record<string, unknown>; jobs: Record<string, Job> } {
  const raw = parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  const resolve = (name: string, seen: string[] = []): Record<string, unknown> => {
    if (seen.includes(name)) throw new Error(`extends cycle: ${[...seen, name].join(" -> ")}`);
    const def = raw[name];
    if (!isObject(def)) throw new Error(`extends names ${name}, which is not defined`);
    const parents = def.extends === undefined ? [] : Array.isArray(def.extends) ? (def.extends as string[]) : [def.extends as string];
    let acc: Record<string, unknown> = {};
    for (const p of parents) acc = merge(acc, resolve(p, [...seen, name]));
    const { extends: _ignored, ...own } = def;
    return merge(acc, own);
  };
  const names = Object.keys(raw).filter((name) => !name.startsWith(".") && !GLOBAL_KEYWORDS.has(name));
  return { raw, jobs: Object.fromEntries(names.map((name) => [name, resolve(name) as Job])) };
}

/** Every combination of a job's parallel:matrix (one empty entry without a matrix). */
export function matrixEntries(job: Job): Record<string, string>[] {
  const matrix = job.parallel?.matrix;
  if (!matrix) return [{}];
  const out: Record<string, string>[] = [];
  for (const row of matrix) {
    let combos: Record<string, string>[] = [{}];
    for (const [k, v] of Object.entries(row)) {
      const values = Array.isArray(v) ? v : [v];
      combos = combos.flatMap((c) => values.map((x) => ({ ...c, [k]: String(x) })));
    }
    out.push(...combos);
  }
  return out;
}

/** The script lines a job runs (before_script then script). */
export const jobLines = (job: Job): string[] => [...(job.before_script ?? []), ...(job.script ?? [])];

/** Splits a shell line into simple commands (at ||, &&, ;, |), each a list of words without quotes. */
function simpleCommands(line: string): string[][] {
  return line
    .split(/\|\||&&|;|\|/)
    .map((part) => (part.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1")))
    .filter((words) => words.length > 0);
}

/** Which bin names each (dev)dependency provides. */
function declaredBins(pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }): Map<string, string> {
  const bins = new Map<string, string>();
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    // Every declared dependency is installed (npm ci): one that cannot be read is an error, not "no bins".
    const meta = JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", dep, "package.json"), "utf8")) as {
      bin?: string | Record<string, string>;
    };
    if (typeof meta.bin === "string") bins.set(dep.replace(/^@[^/]+\//, ""), dep);
    else for (const b of Object.keys(meta.bin ?? {})) bins.set(b, dep);
  }
  return bins;
}

/**
 * Problems with one job's commands: npm scripts that package.json lacks, npx tools that no declared
 * dependency provides, files that do not exist, commands that are none of those. `stackArgs`
 * collects the stack arguments of cdktf commands (checked by the caller).
 */
export function checkCommands(jobName: string, job: Job, stackArgs: string[]): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
  const scripts = Object.keys(pkg.scripts ?? {});
  const bins = declaredBins(pkg);
  const problems: string[] = [];
  for (const line of jobLines(job)) {
    for (const words of simpleCommands(line)) {
      const [cmd, ...args] = words;
      const where = `${jobName}: \`${line}\``;
      if (cmd === "[" || cmd === "test") continue; // a condition
      if (cmd === "unset") continue; // drops variables (the diff job's secrets), runs nothing
      if (cmd === "npm") {
        const sub = args[0];
        if (sub === "ci") {
          if (!fs.existsSync(path.join(REPO, "package-lock.json"))) problems.push(`${where}: npm ci without package-lock.json`);
        } else if (sub === "test" || sub === "start") {
          if (!scripts.includes(sub)) problems.push(`${where}: no npm script "${sub}"`);
        } else if (sub === "run" || sub === "run-script") {
          if (!scripts.includes(args[1])) problems.push(`${where}: no npm script "${args[1]}"`);
        } else problems.push(`${where}: npm ${sub} is not an npm script`);
      } else if (cmd === "npx") {
        const tool = args.find((a) => !a.startsWith("-"));
        if (!tool || !bins.has(tool) || !fs.existsSync(path.join(BIN, tool))) {
          problems.push(`${where}: npx ${tool} is not a bin of a declared dependency`);
        } else if (tool === "cdktf") {
          const [sub, ...rest] = args.slice(args.indexOf(tool) + 1);
          if (!["synth", "diff", "deploy", "destroy"].includes(sub)) problems.push(`${where}: cdktf ${sub}?`);
          stackArgs.push(...rest.filter((a) => !a.startsWith("-")));
        }
      } else if (cmd === "source" || cmd === "." || cmd === "bash" || cmd === "sh") {
        const file = args[0];
        if (!file || !fs.existsSync(path.join(REPO, file))) problems.push(`${where}: ${file} does not exist`);
      } else {
        problems.push(`${where}: ${cmd} is neither an npm script, an npx tool of the project nor a file of it`);
      }
    }
  }
  return problems;
}

/**
 * A copy of the working tree (what `git ls-files` knows, committed or not, ignored files left out)
 * as a git repository of its own, with an origin like GitLab's, and the project's node_modules
 * linked in (so jobs can skip `npm ci`). gitlab-ci-local runs shell jobs in it.
 */
export function workingTreeCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-glcl-"));
  const repo = path.join(dir, "repo");
  const git = (args: string[], cwd = REPO) => runOk("git", args, { cwd }).stdout;
  git(["clone", "-q", "--no-hardlinks", REPO, repo]);
  const files = git(["ls-files", "-co", "--exclude-standard", "-z"]).split("\0").filter(Boolean);
  for (const f of files) {
    const src = path.join(REPO, f);
    const dst = path.join(repo, f);
    if (!fs.existsSync(src)) {
      fs.rmSync(dst, { force: true }); // deleted in the working tree
      continue;
    }
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
    fs.chmodSync(dst, fs.statSync(src).mode);
  }
  git(["remote", "set-url", "origin", "https://gitlab.example.org/jgi/jaws-deploy.git"], repo);
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(repo, "node_modules"));
  return repo;
}
