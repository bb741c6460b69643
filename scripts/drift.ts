/**
 * Drift: does each host still run what the current code renders?
 *
 *   npm run drift -- <site> [deployment] [--json] [--stack=<stack>]
 *
 * (deployment default: $JAWS_DEPLOYMENT or dev; --stack checks that stack's instance only.)
 *
 * One SSH session per instance (all instances at once), connected like a deploy (site definition,
 * pinned host key, JAWS_SSH_KEY_FILE or ssh-agent). The expectation (file and config-section
 * fingerprints, the program manifest, the deploy id, the supervisor version) goes to the host on the
 * session's stdin; jawsctl's drift module compares on the host and answers with JSON. No file
 * content leaves the host, and nothing under secret/ is read.
 *
 * Exit: 0 every instance in sync; 1 drift found on at least one instance; 2 no drift found but at
 * least one instance could not be checked (host unreachable, answer unreadable).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { type SupervisorInstance, sshTarget } from "../constructs";
import { HOST_FILES } from "../constructs/host-layout";
import { readEnvironment } from "../sites/environment";
import { addSiteStacks } from "../sites/stacks";

/** One thing on the host that is not what the code renders. */
export interface DriftDifference {
  /**
   * deploy: the host's last deploy is not the code's; config-section: a section of supervisord.conf;
   * wrapper: a bin/*.sh; file: another installed file (jawsctl, scripts); release: a PythonRelease's
   * version; config-file: a ConfigFile (by keyed fingerprint); venv: the supervisor venv;
   * supervisord: not running; program-not-running: a declared process down; program-undeclared: a
   * running process the code does not declare (drop-in programs are declared by their files).
   */
  readonly kind: "deploy" | "config-section" | "wrapper" | "file" | "venv" | "supervisord" | "program-not-running" | "program-undeclared";
  /** What differs: a section (`[program:x]`), a path relative to the instance dir, `group:process`... */
  readonly name: string;
  /** How it differs, in words (never a file's content). */
  readonly detail: string;
  /** The host's file differs from what the last deploy installed (state/files.json). */
  readonly editedOnHost: boolean;
}

export interface InstanceDrift {
  /** `<name>-<deployment>`, e.g. `jaws-dev`. */
  readonly instance: string;
  /** The cdktf stack of the instance. */
  readonly stack: string;
  /** `user@host:port`. */
  readonly target: string;
  readonly status: "in-sync" | "drift" | "unknown";
  /** The deploy id the code renders, and the one the host ran last (null: none, or unknown). */
  readonly expectedDeployId: string;
  readonly hostDeployId: string | null;
  readonly differences: readonly DriftDifference[];
  /** What could not be compared (e.g. the venv is gone and no Python with supervisor could ask supervisord). */
  readonly notChecked: readonly string[];
  /** Why the status is unknown (unreachable host...); null otherwise. */
  readonly error: string | null;
  /** The one command that brings the instance back to the code; null when in sync or unknown. */
  readonly fix: string | null;
}

export interface DriftReport {
  readonly site: string;
  readonly deployment: string;
  /** 0 in sync, 1 drift, 2 cannot tell (the exit code). */
  readonly exitCode: 0 | 1 | 2;
  readonly instances: readonly InstanceDrift[];
  /** One command that fixes every drifted instance (a deploy of their stacks); null when none drifted. */
  readonly fix: string | null;
}

/**
 * A deploy of `stacks` that runs even though Terraform sees no change (JAWS_REDEPLOY): it puts back
 * every file, applies the config in place (undoing what was applied by hand), starts the declared
 * programs that are down and re-bootstraps a missing venv.
 */
export const fixCommand = (site: string, deployment: string, stacks: readonly string[]) =>
  `JAWS_SITES=${site} JAWS_DEPLOYMENT=${deployment} JAWS_REDEPLOY=$(date +%s) npx cdktf deploy ${stacks.join(" ")} --auto-approve`;

/** The cdktf stack an instance belongs to (the scope under the app). */
const stackOf = (inst: SupervisorInstance) => inst.node.scopes[1]?.node.id ?? inst.node.path.split("/")[0];

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Rendered files the deploy runs or reads but does not install at their path. */
const NOT_INSTALLED = new Set(["bin/deploy", "config-files.json"]);

const fileJson = <T>(files: readonly { path: string; content: string }[], path: string, fallback: T): T => {
  const f = files.find((x) => x.path === path);
  return f ? (JSON.parse(f.content) as T) : fallback;
};

/** What the host should have, as the current code renders it: fingerprints, never content. */
export function expectation(inst: SupervisorInstance) {
  const r = inst.render();
  const m = inst.model();
  const releases = fileJson<{ releases: { package: string; version: string; directory: string }[] }>(r.files, "state/releases.json", {
    releases: [],
  }).releases;
  const configFiles = fileJson<{ files: { path: string; mode: string; group: string | null }[] }>(r.files, "config-files.json", {
    files: [],
  }).files;
  return {
    deployId: r.deployId,
    supervisorVersion: m.python.supervisorVersion,
    files: Object.fromEntries(r.files.filter((f) => !NOT_INSTALLED.has(f.path)).map((f) => [f.path, sha256(f.content)])),
    sections: Object.fromEntries([...r.configSections].map(([name, text]) => [name, sha256(text)])),
    manifest: r.manifest,
    releases: releases.map(({ package: p, version, directory }) => ({ package: p, version, directory })),
    // Where each config file goes, not its text (which the code has with placeholders only).
    configFiles: configFiles.map(({ path, mode, group }) => ({ path, mode, group })),
  };
}

/**
 * The host side: the venv's Python, or (venv gone) the instance's Python or python3, runs the
 * drift module from the instance's lib/ (the package imports nothing of supervisor until it asks
 * supervisord). The instance directory and Python command are validated (safe alphabets).
 */
function remoteCommand(dir: string, python: string): string {
  const lib = `${dir}/lib`;
  const run = `import sys; sys.path.insert(0, sys.argv[1]); from jawsctl import drift; drift.main(sys.argv[2])`;
  return [
    `py=${dir}/${HOST_FILES.venvPython}`,
    `[ -x "$py" ] || py=$(command -v ${python} || command -v python3) || { echo "no python on $(hostname)" >&2; exit 3; }`,
    `[ -f ${lib}/jawsctl/drift.py ] || { echo '{"hostDeployId": null, "differences": [{"kind": "deploy", "name": "deploy id", "detail": "'"$([ -d ${lib}/jawsctl ] && echo 'deployed before drift detection existed: deploy once' || echo 'nothing deployed in ${dir}')"'", "editedOnHost": false}], "notChecked": []}'; exit 0; }`,
    `exec "$py" -I -c '${run}' ${lib} ${dir}`,
  ].join("; ");
}

function sshRun(
  args: string[],
  input: string,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr, error });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

/** The drift of every instance of a site and deployment (the other settings as for main.ts). */
export async function siteDrift(
  siteName: string,
  deployment?: string,
  env: NodeJS.ProcessEnv = process.env,
  stacks?: readonly string[],
): Promise<DriftReport> {
  const { sites, selection } = readEnvironment({ ...env, JAWS_SITES: siteName, ...(deployment ? { JAWS_DEPLOYMENT: deployment } : {}) });
  const all = sites.flatMap((site) => addSiteStacks(new App({ skipValidation: true }), site, selection));
  const instances = stacks ? all.filter((i) => stacks.includes(stackOf(i))) : all;
  if (instances.length === 0) throw new Error(`no instance of ${siteName} in stack(s) ${stacks?.join(", ")}`);
  const dep = selection.deployment;
  const tmp = mkdtempSync(join(tmpdir(), "jaws-drift-"));
  try {
    const results = await Promise.all(
      instances.map(async (inst): Promise<InstanceDrift> => {
        const m = inst.model();
        const stack = stackOf(inst);
        const base = {
          instance: `${m.name}-${m.deployment}`,
          stack,
          target: `${m.ssh.user}@${m.ssh.host}:${m.ssh.port}`,
        };
        const expected = expectation(inst);
        const unknown = (error: string): InstanceDrift => ({
          ...base,
          status: "unknown",
          expectedDeployId: expected.deployId,
          hostDeployId: null,
          differences: [],
          notChecked: [],
          error,
          fix: null,
        });
        const knownHostsFile = join(tmp, `${base.instance}.${m.ssh.user}.known_hosts`);
        const target = sshTarget(m.ssh, knownHostsFile, (p) => p.replace(/^~\//, `${process.env.HOME}/`));
        writeFileSync(knownHostsFile, target.knownHosts);
        const r = await sshRun([...target.args, remoteCommand(m.dir, m.python.command)], JSON.stringify(expected), 120_000);
        const err = (r.stderr || r.error?.message || "").trim();
        if (r.error || r.code === 255) return unknown(`cannot reach the host over SSH: ${err}`);
        if (r.code !== 0) return unknown(`the drift check failed on the host (exit ${r.code}): ${err}`);
        let host: { hostDeployId: string | null; differences: DriftDifference[]; notChecked: string[] };
        try {
          host = JSON.parse(r.stdout);
        } catch {
          return unknown(`unreadable answer from the host: ${r.stdout.slice(0, 200)} ${err}`);
        }
        const drifted = host.differences.length > 0;
        return {
          ...base,
          status: drifted ? "drift" : "in-sync",
          expectedDeployId: expected.deployId,
          hostDeployId: host.hostDeployId,
          differences: host.differences,
          notChecked: host.notChecked,
          error: null,
          fix: drifted ? fixCommand(siteName, dep, [stack]) : null,
        };
      }),
    );
    const exitCode = results.some((i) => i.status === "drift") ? 1 : results.some((i) => i.status === "unknown") ? 2 : 0;
    const drifted = results.filter((i) => i.status === "drift").map((i) => i.stack);
    return {
      site: siteName,
      deployment: dep,
      exitCode,
      instances: results,
      fix: drifted.length ? fixCommand(siteName, dep, drifted) : null,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The report for people: per instance what differs, and the one command that fixes it. */
export function formatDrift(report: DriftReport): string {
  const lines: string[] = [];
  for (const i of report.instances) {
    lines.push(`== ${i.instance} (${i.target}, stack ${i.stack})`);
    if (i.status === "unknown") {
      lines.push(`CANNOT TELL: ${i.error}`);
      continue;
    }
    if (i.status === "in-sync") {
      lines.push(`in sync: deploy ${i.expectedDeployId}`);
      continue;
    }
    lines.push(`DRIFT: ${i.differences.length} difference(s)`);
    for (const d of i.differences) lines.push(`  ${d.kind.padEnd(19)} ${d.name}: ${d.detail}`);
    for (const n of i.notChecked) lines.push(`  not checked: ${n}`);
    lines.push(`fix: ${i.fix}`);
  }
  const word = ["in sync", "drift", "cannot tell"][report.exitCode];
  lines.push(`${report.site} ${report.deployment}: ${word} (exit ${report.exitCode})`);
  if (report.fix && report.instances.filter((i) => i.fix).length > 1) lines.push(`fix all: ${report.fix}`);
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const stacks = args.filter((a) => a.startsWith("--stack=")).map((a) => a.slice("--stack=".length));
  const [site, deployment] = args.filter((a) => !a.startsWith("--"));
  if (!site) {
    console.error("usage: npm run drift -- <site> [deployment] [--json] [--stack=<stack>]");
    process.exit(2);
  }
  siteDrift(site, deployment, process.env, stacks.length ? stacks : undefined).then(
    (report) => {
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatDrift(report));
      process.exit(report.exitCode);
    },
    (e: Error) => {
      console.error(`drift: ${e.message}`);
      process.exit(2);
    },
  );
}
