import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import Handlebars from "handlebars";
import { controlCommand, HOST_DIRECTORIES, HOST_FILES, hostPath, INSTANCE_DIR_MODE } from "../host-layout";
import type { InstanceModel } from "../model/instance";
import type { ServiceModel } from "../model/service";
import { normaliseSignal, renderAutoRestart, renderBoolean, renderByteSize } from "../model/values";
import { assertValid } from "../rules";
import { renderConfigFile } from "./config-file";
import {
  escapePercent,
  escapePercentKeepExpansions,
  heredocDelimiter,
  shellQuote,
  supervisorCommandLine,
  supervisorEnvironment,
} from "./escape";
import { type ProbeManifest, probeDescription, probeManifest, probeService, probeWrapperPath } from "./probe";
import { launcherContext, SLURM_FILES, starterScrontab } from "./render-launcher";
import { expand, processExpansions } from "./syntax";

// templates/ sits at the package root, two levels up from constructs/render/ (source) and from
// lib/render/ (the built package): found the same way in the repository and when installed.
const TEMPLATE_DIR = join(__dirname, "..", "..", "templates");

// One Handlebars environment, HTML escaping off: every escape is explicit (escape.ts).
const hbs = Handlebars.create();
hbs.registerHelper("q", (v: unknown) => shellQuote(String(v)));
hbs.registerHelper("pct", (v: unknown) => escapePercent(String(v)));
hbs.registerHelper("bool", (v: unknown) => renderBoolean(Boolean(v)));

const compiled = new Map<string, Handlebars.TemplateDelegate>();
function template(name: string): Handlebars.TemplateDelegate {
  let t = compiled.get(name);
  if (!t) {
    t = hbs.compile(readFileSync(join(TEMPLATE_DIR, name), "utf8"), { noEscape: true, strict: true });
    compiled.set(name, t);
  }
  return t;
}

const staticFiles = new Map<string, string>();
function staticFile(name: string): string {
  let text = staticFiles.get(name);
  if (text === undefined) {
    text = readFileSync(join(TEMPLATE_DIR, name), "utf8");
    staticFiles.set(name, text);
  }
  return text;
}

// The shell basics (names, messages, directories, the deploy lock) of the bundle and lib/jaws-lib.sh.
hbs.registerPartial("common", staticFile("common.sh.hbs"));
// The Slurm launcher's functions of lib/jaws-lib.sh (only in the lib of a Slurm-launched instance).
hbs.registerPartial("slurm", staticFile("slurm.sh.hbs"));

/** The files of the jawsctl package (templates/jawsctl/*.py), names relative to templates/. */
let controlPackage: readonly string[] | undefined;
function controlPackageFiles(): readonly string[] {
  controlPackage ??= readdirSync(join(TEMPLATE_DIR, "jawsctl"))
    .filter((n) => n.endsWith(".py"))
    .sort()
    .map((n) => `jawsctl/${n}`);
  return controlPackage;
}

/** The staged spec of the config files (never installed: the host records state/config-files.json). */
const STAGED_CONFIG_FILES = "config-files.json";

/** What supervisord imports of the package ([rpcinterface:jawsdeploy]): a change restarts it. */
const SUPERVISORD_IMPORTS = ["jawsctl/__init__.py", "jawsctl/rpc_extension.py"];

/** A file the deploy puts into the instance directory. */
export interface RenderedFile {
  /** Path relative to the instance directory. */
  readonly path: string;
  readonly content: string;
  /** Octal mode, e.g. "0600". */
  readonly mode: string;
}

/** What the deploy script on the host knows about each program. */
export interface ProgramManifest {
  readonly name: string;
  readonly processes: readonly string[];
  readonly autostart: boolean;
  readonly oneShot: boolean;
  readonly exitcodes: readonly number[];
  /** Hash of the program's section, wrapper and probe: a change restarts exactly this program. */
  readonly fingerprint: string;
  /** The health probe (absent without one). */
  readonly probe?: ProbeManifest;
  /** Failing probes in a row after which ensure restarts the program (absent: never). */
  readonly restartOnProbeFailures?: number;
}

export interface Manifest {
  readonly group: string;
  /** Hash of everything but programs and group: a change restarts supervisord. */
  readonly instance: string;
  readonly programs: readonly ProgramManifest[];
}

export interface RenderedInstance {
  /** Changes with any rendered file; names the deploy on the host. */
  readonly deployId: string;
  readonly supervisordConf: string;
  /** The config's text per section (see configSections). */
  readonly configSections: ReadonlyMap<string, string>;
  /** The wrapper script of each program that has one, by program name. */
  readonly wrappers: ReadonlyMap<string, string>;
  /** The probe of each program that has one, as readable text (a trigger), by program name. */
  readonly probes: ReadonlyMap<string, string>;
  /** Each config file's text with its secrets as placeholders, by host path. */
  readonly configFiles: ReadonlyMap<string, string>;
  readonly files: readonly RenderedFile[];
  readonly manifest: Manifest;
  /** The file uploaded by Terraform: writes every file into the staging dir and runs the deploy. */
  readonly bundle: string;
  /** Run by the destroy-time provisioner; independent of the programs, so deploys never change it. */
  readonly destroyScript: string;
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/** The user name the instance's key authenticates (not a secret). */
export function controlUser(m: InstanceModel): string {
  return `${m.name}-${m.deployment}`;
}

export function serverUrl(m: InstanceModel): string {
  return m.control.kind === "unix" ? `unix://${m.control.socketFile}` : `http://${m.control.host}:${m.control.port}`;
}

/** The argv supervisord runs: the wrapper, or the command itself. */
function programArgv(s: ServiceModel): readonly string[] {
  return s.useWrapper ? [s.wrapperFile] : (s.argv ?? []);
}

function programContext(s: ServiceModel) {
  return {
    name: s.name,
    command: escapePercent(supervisorCommandLine(programArgv(s))),
    processName: escapePercentKeepExpansions(s.processName),
    numprocs: s.numprocs,
    numprocsStart: s.numprocsStart,
    priority: s.priority,
    autostart: s.autostart,
    startsecs: s.startsecs,
    startretries: s.startretries,
    autorestart: renderAutoRestart(s.autorestart),
    exitcodes: s.exitcodes.join(","),
    stopsignal: normaliseSignal(s.stopsignal),
    stopwaitsecs: s.stopwaitsecs,
    stopasgroup: s.stopasgroup,
    killasgroup: s.killasgroup,
    redirectStderr: s.redirectStderr,
    stdoutLogfile: escapePercentKeepExpansions(s.stdoutLogfile),
    stdoutLogfileMaxbytes: renderByteSize(s.stdoutLogfileMaxbytes),
    stdoutLogfileBackups: s.stdoutLogfileBackups,
    stderrLogfile: escapePercentKeepExpansions(s.stderrLogfile),
    stderrLogfileMaxbytes: renderByteSize(s.stderrLogfileMaxbytes),
    stderrLogfileBackups: s.stderrLogfileBackups,
    environment: s.useWrapper || Object.keys(s.environment).length === 0 ? "" : supervisorEnvironment(s.environment),
    directory: s.directory === undefined ? "" : escapePercent(s.directory),
    umask: s.umask ?? "",
  };
}

/** Renders the supervisord config of a validated instance. */
export function renderSupervisordConfig(m: InstanceModel): string {
  const env = m.supervisord.environment;
  return template("supervisord.conf.hbs")({
    instance: m,
    supervisordEnvironment: Object.keys(env).length ? supervisorEnvironment(env, 2) : "",
    unix: m.control.kind === "unix" ? m.control : undefined,
    inet: m.control.kind === "inet" ? m.control : undefined,
    // The Slurm launcher's URL keeps its node-address expansion (supervisorctl expands it); any other is literal.
    serverUrl: m.launcher.kind === "slurm" ? serverUrl(m) : escapePercent(serverUrl(m)),
    programs: m.services.map(programContext),
    groupPrograms: m.services.map((s) => s.name).join(","),
    authInclude: `${m.dir}/secret/auth.conf`,
    includeFiles: m.includeFiles,
  });
}

/** Renders the wrapper ("shim") script of a service that uses one. */
export function renderWrapper(m: InstanceModel, s: ServiceModel): string {
  // LANG and LC_ALL come from the locale check in the wrapper; a declared environment wins over it.
  const env: Record<string, string> = { PYTHONIOENCODING: "utf-8", ...s.environment };
  return template("wrapper.sh.hbs")({
    instance: m,
    service: s,
    locale: shellQuote(s.locale),
    preamble: s.shellPreamble,
    exports: Object.keys(env).map((k) => `${k}=${shellQuote(env[k])}`),
    venv: s.venv === undefined ? "" : shellQuote(s.venv),
    command: (s.argv ?? []).map(shellQuote).join(" "),
  });
}

export function processNames(m: InstanceModel, s: ServiceModel): string[] {
  const names: string[] = [];
  for (let i = 0; i < s.numprocs; i++) {
    const num = s.numprocsStart + i;
    names.push(expand(s.processName, processExpansions(s.name, num, s.numprocs, m.dir)));
  }
  return names;
}

/**
 * Splits a rendered config into its sections' text, keyed by section name; the comment lines
 * before the first section are keyed "".
 */
export function configSections(conf: string): Map<string, string> {
  const out = new Map<string, string>();
  let current = "";
  // Lines keep their "\n": the sections put together are the config, byte for byte.
  for (const line of conf.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    const header = /^\[([^\]]+)\]\s*$/.exec(line);
    if (header) current = header[1];
    out.set(current, `${out.get(current) ?? ""}${line}`);
  }
  return out;
}

function renderManifest(
  m: InstanceModel,
  secs: ReadonlyMap<string, string>,
  wrappers: ReadonlyMap<string, string>,
  probeWrappers: ReadonlyMap<string, string>,
): Manifest {
  const instanceText = [...secs]
    .filter(([name]) => !name.startsWith("program:") && !name.startsWith("group:"))
    .map(([, text]) => text.replace(/^;.*\n/gm, ""))
    .join("");
  return {
    group: m.group.name,
    instance: hash(instanceText + SUPERVISORD_IMPORTS.map(staticFile).join("") + m.python.supervisorVersion),
    programs: m.services.map((s) => {
      const probe = probeManifest(m, s);
      // Without a probe the fingerprint and the entry are what they were before probes existed.
      const probeText = probe ? `\0probe\0${JSON.stringify(probe)}\0${probeWrappers.get(s.name) ?? ""}` : "";
      return {
        name: s.name,
        processes: processNames(m, s),
        autostart: s.autostart,
        oneShot: s.oneShot,
        exitcodes: s.exitcodes,
        // The release's version too: its wrapper runs `releases/<package>/current`, whatever the version.
        fingerprint: hash(
          (secs.get(`program:${s.name}`) ?? "") +
            (wrappers.get(s.name) ?? "") +
            probeText +
            (s.release ? `\0release ${s.release.package}==${s.release.version}` : ""),
        ),
        ...(probe ? { probe } : {}),
        ...(s.restartOnProbeFailures !== undefined ? { restartOnProbeFailures: s.restartOnProbeFailures } : {}),
      };
    }),
  };
}

function pipOptions(p: { readonly noIndex: boolean; readonly indexUrl?: string; readonly findLinks: readonly string[] }): string[] {
  const args: string[] = [];
  if (p.noIndex) args.push("--no-index");
  if (p.indexUrl) args.push("--index-url", p.indexUrl);
  for (const l of p.findLinks) args.push("--find-links", l);
  return args;
}

function pipArgs(m: InstanceModel): string {
  return pipOptions(m.python).map(shellQuote).join(" ");
}

const usersOf = (m: InstanceModel, uses: (s: ServiceModel) => boolean) => m.services.filter(uses).map((s) => s.name);

/**
 * state/releases.json: what the deploy installs (read by jawsctl releases.py) and, once the health
 * gate passed, the record of what the host runs (read by drift detection). Shape, version 1:
 * {"version": 1, "releases": [{"package", "version", "directory", "python", "pip": [options],
 * "requirement": "<package>==<version>" or a wheel path, "keep", "programs": [names]}]}
 */
function releasesSpec(m: InstanceModel): string {
  const releases = m.releases.map((r) => ({
    package: r.package,
    version: r.version,
    directory: r.directory,
    python: r.python,
    pip: pipOptions(r),
    requirement: r.wheelFile ?? `${r.package}==${r.version}`,
    keep: r.keepReleases,
    programs: usersOf(m, (s) => s.release?.package === r.package),
  }));
  return `${JSON.stringify({ version: 1, releases }, null, 2)}\n`;
}

/**
 * config-files.json (staged only): each config file's template with secret placeholders, for
 * jawsctl config_files.py, which renders it on the host and records state/config-files.json.
 */
function configFilesSpec(m: InstanceModel, texts: ReadonlyMap<string, string>): string {
  const files = m.configFiles.map((f) => ({
    path: f.file,
    mode: f.mode,
    group: f.group ?? null,
    format: f.format,
    text: texts.get(f.file) ?? "",
    secrets: Object.fromEntries(Object.entries(f.secrets).map(([n, src]) => [n, src ? `${src.kind}:${src.variable}` : ""])),
    programs: usersOf(m, (s) => s.configFiles.includes(f.file)),
  }));
  return `${JSON.stringify({ version: 1, files }, null, 2)}\n`;
}

function scriptContext(m: InstanceModel) {
  return {
    path: m.path,
    name: m.name,
    deployment: m.deployment,
    user: m.ssh.user,
    host: m.ssh.host,
    dir: m.dir,
    supervisorVersion: m.python.supervisorVersion,
    lockTimeout: m.lockTimeoutSeconds,
    healthTimeout: m.healthTimeoutSeconds,
    ctlUser: controlUser(m),
    python: m.python.command,
    preamble: m.python.preamble,
    systemSitePackages: m.python.systemSitePackages,
    pipArgs: pipArgs(m),
    probeRestarts: m.services.some((s) => s.probe !== undefined && s.restartOnProbeFailures !== undefined),
    ...launcherContext(m),
    directories: m.directories.map((d) => ({ path: d.path, mode: d.mode, group: d.group ?? "", acl: d.defaultAcl.join(",") })),
    setfacl: m.setfacl,
    dataDirs: m.directories.map((d) => d.path).join(" "),
    locales: wrapperLocales(m),
    preflight: m.preflight.length ? preflightArgs(m) : "",
    releases: m.releases.length > 0,
    configFiles: m.configFiles.length > 0,
    ...layoutContext(m),
  };
}

/** `locale -a` spells a locale in any case, with utf8 or UTF-8: compare lower-case without dashes. */
export const localeKey = (locale: string) => locale.toLowerCase().replaceAll("-", "");

/** Each locale the wrappers export, with the programs that want it (for the deploy's warning). */
function wrapperLocales(m: InstanceModel) {
  const by = new Map<string, string[]>();
  for (const s of m.services) if (s.useWrapper) by.set(s.locale, [...(by.get(s.locale) ?? []), s.name]);
  return [...by].map(([locale, programs]) => ({ locale, key: localeKey(locale), programs: programs.join(", ") }));
}

/** jawsctl preflight's arguments: the timeout and each endpoint as NAME HOST PORT. */
function preflightArgs(m: InstanceModel): string {
  const args = ["--timeout", String(m.preflightTimeoutSeconds)];
  for (const e of m.preflight) args.push("--endpoint", e.name, e.host, String(e.port));
  return args.map(shellQuote).join(" ");
}

/** The host layout (host-layout.ts) for the scripts: control command, directories, file paths. */
function layoutContext(m: InstanceModel) {
  return {
    ctl: controlCommand(m.dir).map(shellQuote).join(" "),
    dirs: HOST_DIRECTORIES,
    instanceDirMode: INSTANCE_DIR_MODE,
    paths: Object.fromEntries(Object.entries(HOST_FILES).map(([k, p]) => [k, hostPath(m.dir, p)])),
    // Installed before anything else: what the deploy itself runs.
    tooling: [
      HOST_FILES.shellLib,
      ...controlPackageFiles().map((f) => `lib/${f}`),
      "bin/supervisorctl",
      "bin/ensure",
      ...(m.launcher.kind === "slurm" ? [SLURM_FILES.job, SLURM_FILES.starter] : []),
      ...(m.launcher.kind === "slurm" && m.launcher.starter === "scrontab" ? [SLURM_FILES.scrontab] : []),
    ],
  };
}

/** The Slurm launcher's job script, starter and scrontab block; nothing for the daemon launcher. */
function launcherFiles(m: InstanceModel, ctx: ReturnType<typeof scriptContext>): RenderedFile[] {
  const l = m.launcher;
  if (l.kind !== "slurm") return [];
  return [
    { path: SLURM_FILES.job, content: template("slurm-job.sh.hbs")(ctx), mode: "0700" },
    { path: SLURM_FILES.starter, content: template("slurm-starter.sh.hbs")(ctx), mode: "0700" },
    ...(l.starter === "scrontab" ? [{ path: SLURM_FILES.scrontab, content: starterScrontab(m, l), mode: "0600" }] : []),
  ];
}

/**
 * Renders everything the host gets for a model: validates first, so no
 * invalid model is ever rendered.
 */
export function renderInstance(model: InstanceModel): RenderedInstance {
  const m = assertValid(model);
  const conf = renderSupervisordConfig(m);
  const wrappers = new Map(m.services.filter((s) => s.useWrapper).map((s) => [s.name, renderWrapper(m, s)]));
  const probeWrappers = new Map(
    m.services.flatMap((s) => {
      const ps = probeService(s);
      return ps ? [[s.name, renderWrapper(m, ps)] as const] : [];
    }),
  );
  const sections = configSections(conf);
  const manifest = renderManifest(m, sections, wrappers, probeWrappers);
  const probes = new Map(
    m.services.flatMap((s) => {
      const d = probeDescription(s);
      return d === undefined ? [] : [[s.name, d] as const];
    }),
  );
  const configTexts = new Map(m.configFiles.map((f) => [f.file, renderConfigFile(f).text]));
  const ctx0 = scriptContext(m);
  const files: RenderedFile[] = [
    { path: HOST_FILES.supervisordConf, content: conf, mode: "0600" },
    ...[...wrappers].map(([name, content]) => ({ path: `bin/${name}.sh`, content, mode: "0700" })),
    ...[...probeWrappers].map(([name, content]) => ({ path: probeWrapperPath(name), content, mode: "0700" })),
    { path: HOST_FILES.supervisorctl, content: template("supervisorctl.sh.hbs")(ctx0), mode: "0700" },
    { path: HOST_FILES.ensure, content: template("ensure.sh.hbs")(ctx0), mode: "0700" },
    { path: HOST_FILES.shellLib, content: template("lib.sh.hbs")(ctx0), mode: "0600" },
    ...launcherFiles(m, ctx0),
    ...controlPackageFiles().map((f) => ({ path: `lib/${f}`, content: staticFile(f), mode: "0600" })),
    { path: HOST_FILES.programs, content: `${JSON.stringify(manifest, null, 2)}\n`, mode: "0600" },
    ...(m.releases.length ? [{ path: HOST_FILES.releases, content: releasesSpec(m), mode: "0600" }] : []),
    ...(m.configFiles.length ? [{ path: STAGED_CONFIG_FILES, content: configFilesSpec(m, configTexts), mode: "0600" }] : []),
  ];
  // bin/deploy names the deploy id it belongs to, and the id covers bin/deploy too (a setting only
  // the deploy script renders, such as ensureCron, changes it): rendered once with a marker, hashed, filled in.
  const marker = "JAWS_DEPLOY_ID_MARKER";
  const deployDraft = template("deploy.sh.hbs")({ ...ctx0, deployId: marker });
  const deployId = hash(
    [...files, { path: "bin/deploy", mode: "0700", content: deployDraft }].map((f) => `${f.path}\0${f.mode}\0${f.content}`).join("\0"),
  );
  const ctx = { ...ctx0, deployId };
  files.push(
    { path: "bin/deploy", content: deployDraft.replaceAll(marker, deployId), mode: "0700" },
    { path: HOST_FILES.deployId, content: `${deployId}\n`, mode: "0600" },
  );
  const bundle = template("bundle.sh.hbs")({
    ...ctx,
    files: files.map((f) => ({ ...f, delimiter: heredocDelimiter(f.content) })),
    stageDirs: [...new Set(files.map((f) => posix.dirname(f.path)).filter((d) => d !== "."))].sort(),
  });
  return {
    deployId,
    supervisordConf: conf,
    configSections: sections,
    wrappers,
    probes,
    configFiles: configTexts,
    files,
    manifest,
    bundle,
    destroyScript: template("destroy.sh.hbs")(ctx0),
  };
}
