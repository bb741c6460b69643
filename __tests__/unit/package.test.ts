/**
 * The library as another cdktf app gets it: `npm pack`, the tarball installed offline into a fresh
 * app outside the repository, the README's first example as that app's main.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Json, realBaseDirectory, resourceOf } from "../support/fixtures";
import { parseSupervisordConfig, requireSupervisordParser } from "../support/supervisord-parser";

const ROOT = resolve(__dirname, "..", "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

/** The first TypeScript block of the README: the example a new user copies. */
function readmeExample(): string {
  const m = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, "README.md"), "utf8"));
  if (!m) throw new Error("README.md has no ```ts example");
  return m[1];
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 240_000 });
  const output = `${r.stdout}${r.stderr}${r.error?.message ?? ""}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}) in ${cwd}:\n${output}`);
  return r.stdout;
}

const version = (pkg: string) => JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version as string;

describe("the packed library in a fresh cdktf app", () => {
  let work: string;
  let app: string;
  let files: string[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "jaws-pack-"));
    // stdout: prepack's build lines, then the JSON.
    const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], ROOT).replace(/^[^[]*/, ""));
    files = packed[0].files.map((f: { path: string }) => f.path);
    const tarball = join(work, packed[0].filename);
    app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true }));
    writeFileSync(join(app, "cdktf.json"), JSON.stringify({ language: "typescript", app: `${TSX} main.ts` }));
    writeFileSync(join(app, "main.ts"), readmeExample());
    // The library from the tarball file; cdktf, constructs and its dependencies from npm's cache (or the registry).
    run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        tarball,
        `cdktf@${version("cdktf")}`,
        `constructs@${version("constructs")}`,
      ],
      app,
    );
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds the built library, its templates and host runtime, README and licence only", () => {
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "lib/index.js", "lib/index.d.ts"]));
    expect(files).toEqual(expect.arrayContaining(["templates/supervisord.conf.hbs", "templates/jawsctl/__main__.py"]));
    const unexpected = files.filter(
      (f) =>
        !/^(LICENSE|README\.md|package\.json|lib\/.+\.(js|d\.ts)|templates\/[^_].*\.(hbs|py))$/.test(f) || /__pycache__|\.pyc$/.test(f),
    );
    expect(unexpected).toEqual([]);
  });

  it("uses the app's one copy of cdktf and constructs (peer dependencies)", () => {
    const lib = join(app, "node_modules", "jaws-deploy");
    expect(existsSync(join(lib, "lib", "index.js"))).toBe(true);
    expect(existsSync(join(lib, "node_modules", "cdktf"))).toBe(false);
    expect(existsSync(join(lib, "node_modules", "constructs"))).toBe(false);
  });

  it("importing the package synthesizes nothing", () => {
    const out = run(process.execPath, ["-e", "const m = require('jaws-deploy'); console.log(Object.keys(m).sort().join(','))"], app);
    expect(out.trim()).toBe(
      "ConfigFile,JawsService,PythonRelease,STATE_BACKEND_KINDS,SupervisorInstance,ValidationError,createStack,sshTarget,stateBackendFor",
    );
    expect(existsSync(join(app, "cdktf.out"))).toBe(false);
  });

  it("type-checks the README example against the shipped .d.ts", () => {
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, module: "commonjs", target: "ES2022", noEmit: true, skipLibCheck: true, types: [] },
      }),
    );
    run(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "."], app);
  });

  it("runs the README example: the stack, and a config supervisord's parser loads", () => {
    requireSupervisordParser();
    run(TSX, ["main.ts"], app);
    const stack: Json = JSON.parse(readFileSync(join(app, "cdktf.out", "stacks", "web-prod", "cdk.tf.json"), "utf8"));
    const triggers = resourceOf(stack).triggers as Record<string, string>;
    expect(triggers.user).toBe("svc-web");
    expect(triggers.instance_dir).toBe("/srv/svc-web/web-prod");
    // The config is in the triggers, one section each, in order (the header comment first).
    const conf = Object.entries(triggers)
      .filter(([k]) => k.startsWith("file:supervisord.conf"))
      .map(([, v]) => v)
      .join("");
    expect(conf).toContain("[program:api]");
    expect(conf).toContain("[program:worker]");
    // The parser checks that log and run directories exist: point the instance's paths at a real one.
    const { base, cleanup } = realBaseDirectory();
    try {
      const dir = join(base, "web-prod");
      for (const d of ["log", "run", "secret"]) mkdirSync(join(dir, d), { recursive: true });
      writeFileSync(join(dir, "secret", "auth.conf"), "[unix_http_server]\nusername=web-prod\npassword=not-the-real-key\n");
      const file = join(dir, "supervisord.conf");
      const text = conf.replaceAll("/srv/svc-web/web-prod", dir);
      writeFileSync(file, text);
      const parsed = parseSupervisordConfig(text, {
        file,
        env: { ...process.env, PYTHONPATH: join(app, "node_modules", "jaws-deploy", "templates") },
      });
      expect(parsed.programs.map((p) => p.name).sort()).toEqual(["api", "worker"]);
    } finally {
      cleanup();
    }
  });
});
