import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type App, type TerraformStack, Testing } from "cdktf";
import type { ConfigFileProps, InstanceModel, JawsServiceOptions, PythonReleaseProps, SupervisorInstanceProps } from "../../constructs";
import { resolveConfigFile } from "../../constructs/model/config-file";
import { resolveInstance } from "../../constructs/model/instance";
import { currentRelease, resolveRelease } from "../../constructs/model/release";
import { resolveService } from "../../constructs/model/service";
import { type ParsedConfig, parseSupervisordConfig, SUPERVISOR_PYTHON } from "./supervisord-parser";

/** A synthesized stack (cdk.tf.json, parsed). */
export type Json = Record<string, any>;

export const TEMPLATES = resolve(__dirname, "..", "..", "templates");

/** A host key in the right format (from the test host harness's ssh-keygen, not a real host). */
export const SAMPLE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbgagbIb06hWWBI5iwOgLvvPb4OnnAd/W+xipZcs8Av";

export const BASE_OPTIONS: SupervisorInstanceProps = {
  name: "jaws",
  deployment: "dev",
  host: "cori20.nersc.gov",
  user: "jaws",
  hostKey: SAMPLE_HOST_KEY,
  baseDirectory: "/srv/jaws",
};

/** Builds a model from options and services, as the constructs do. */
export function model(
  options: Partial<SupervisorInstanceProps> = {},
  services: Record<string, JawsServiceOptions> = {},
  path = "app/jaws",
): InstanceModel {
  const o = { ...BASE_OPTIONS, ...options };
  const dir = resolveInstance(o, path).dir;
  const svcs = Object.entries(services).map(([name, s]) => resolveService(s, name, dir, `${path}/${name}`));
  return resolveInstance(o, path, svcs);
}

/** A program of `appModel`: its release and config files named by their ids. */
export type AppService = Omit<JawsServiceOptions, "release" | "configFiles"> & { release?: string; configFiles?: string[] };

/** Builds a model with releases and config files (by id), as PythonRelease, ConfigFile and JawsService do. */
export function appModel(
  parts: {
    releases?: Record<string, PythonReleaseProps>;
    configFiles?: Record<string, ConfigFileProps>;
    services?: Record<string, AppService>;
  },
  options: Partial<SupervisorInstanceProps> = {},
  path = "app/jaws",
): InstanceModel {
  const o = { ...BASE_OPTIONS, ...options };
  const base = resolveInstance(o, path);
  const releases = Object.entries(parts.releases ?? {}).map(([id, r]) => resolveRelease(r, base.dir, base.python.command, `${path}/${id}`));
  const files = Object.entries(parts.configFiles ?? {}).map(([id, f]) => resolveConfigFile(f, base.dir, `${path}/${id}`));
  const ids = (id: string, list: string[]) => list.indexOf(id);
  const releaseIds = Object.keys(parts.releases ?? {});
  const fileIds = Object.keys(parts.configFiles ?? {});
  const services = Object.entries(parts.services ?? {}).map(([name, s]) => {
    const r = s.release === undefined ? undefined : releases[ids(s.release, releaseIds)];
    const opts = {
      ...s,
      release: r && ({ package: r.package, version: r.version, venvDirectory: currentRelease(r) } as never),
      configFiles: (s.configFiles ?? []).map((id) => ({ path: files[ids(id, fileIds)]?.file ?? `/nowhere/${id}` }) as never),
    } as JawsServiceOptions;
    return resolveService(opts, name, base.dir, `${path}/${name}`);
  });
  return resolveInstance(o, path, services, { releases, configFiles: files });
}

/**
 * A real base directory (not under /tmp, which the library refuses) with what
 * supervisord's parser needs to exist: log and run dirs and the auth include.
 */
export function realBaseDirectory(): { base: string; cleanup: () => void } {
  const root = join(homedir(), ".cache", "jaws-deploy-tests");
  mkdirSync(root, { recursive: true });
  const base = mkdtempSync(join(root, "base-"));
  return { base, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export function prepareInstanceDir(m: InstanceModel): void {
  for (const d of ["log", "run", "secret", "bin"]) mkdirSync(join(m.dir, d), { recursive: true });
  const section = m.control.kind === "unix" ? "unix_http_server" : "inet_http_server";
  writeFileSync(join(m.dir, "secret", "auth.conf"), `[${section}]\nusername=${m.name}-${m.deployment}\npassword=not-the-real-key\n`);
}

/** Loads a rendered config with supervisord's own parser, the extension importable as on the host. */
export function parseRendered(m: InstanceModel, text: string): ParsedConfig {
  const file = join(m.dir, "supervisord.conf");
  writeFileSync(file, text);
  return parseSupervisordConfig(text, { file, env: { ...process.env, PYTHONPATH: TEMPLATES } });
}

/**
 * The deploy bundle carried by a synthesized deploy resource: its remote-exec script, written as
 * `${base64decode("...")}` (fails the test when the resource carries it any other way).
 */
export function deployBundle(resource: { provisioner?: Record<string, { inline?: string[] }>[] }): string {
  const provisioners = resource.provisioner ?? [];
  if (provisioners.length !== 1) throw new Error(`expected one provisioner, got ${JSON.stringify(provisioners).slice(0, 200)}`);
  const inline = provisioners[0]["remote-exec"]?.inline ?? [];
  const m = inline.length === 1 ? /^\$\{base64decode\("([A-Za-z0-9+/]*={0,2})"\)\}$/.exec(inline[0]) : null;
  if (!m) throw new Error(`expected the bundle as one base64decode("..."), got ${JSON.stringify(inline).slice(0, 200)}`);
  return Buffer.from(m[1], "base64").toString("utf8");
}

/** The send script of a secrets resource's local-exec, decoded. */
export function secretsScript(resource: Json): string {
  const command: string = resource.provisioner[0]["local-exec"].command;
  const m = /^\$\{base64decode\("([A-Za-z0-9+/]*={0,2})"\)\}$/.exec(command);
  if (!m) throw new Error(`expected the send script as one base64decode("..."), got ${command.slice(0, 100)}`);
  return Buffer.from(m[1], "base64").toString("utf8");
}

/**
 * Python's own `shlex.split`, which supervisord applies to `command=` after % expansion (run by
 * SUPERVISOR_PYTHON, the interpreter of the parser). Not constructs' shlexSplit: the reference it is checked against.
 */
export function pythonShlexSplit(line: string): string[] {
  const r = spawnSync(SUPERVISOR_PYTHON, ["-c", "import json,shlex,sys; print(json.dumps(shlex.split(sys.stdin.read())))"], {
    input: line,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${SUPERVISOR_PYTHON} shlex.split failed (exit ${r.status}): ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Every stack `add` puts into a fresh test app, synthesized (with validations), by stack id in creation order. */
export function synthStacks(add: (app: App) => void): Record<string, Json> {
  const app = Testing.app();
  add(app);
  return Object.fromEntries(app.node.children.map((s) => [s.node.id, JSON.parse(Testing.synth(s as TerraformStack, true))]));
}

/** The deploy (or, with `which`, the instance) resource of a synthesized stack; throws if it has none. */
export function resourceOf(stack: Json, type = "null_resource", which = "deploy"): Json {
  const found = Object.entries((stack.resource?.[type] ?? {}) as Json).find(([k]) => k.startsWith(`supervisor_${which}_`));
  if (!found) throw new Error(`no ${type}.supervisor_${which}_* in ${JSON.stringify(Object.keys(stack.resource ?? {}))}`);
  return found[1];
}
