/**
 * PythonRelease and ConfigFile at synth: their rules (path and field named), what they render
 * (the wrapper's venv, the manifest's fingerprints, the triggers `cdktf diff` shows), the secrets
 * resource (keyed fingerprints, ignored without the key, the deploy replaced with it), and the
 * send script run by real bash with a stand-in `ssh` that records its argv and stdin. Properties:
 * a plain or secret value never changes the meaning of an INI or env file (configparser, bash),
 * and every value reaches the host's stdin byte for byte, never a command line.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type TerraformStack, Testing } from "cdktf";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigFile, type ConfigFileProps, createStack, JawsService, PythonRelease, SupervisorInstance } from "../../constructs";
import { renderConfigFile } from "../../constructs/render/config-file";
import { renderInstance } from "../../constructs/render/render-instance";
import { renderSecretsScript } from "../../constructs/render/secrets-script";
import { validateInstance } from "../../constructs/rules";
import { secretFingerprint } from "../../constructs/secret-fingerprints";
import { appModel, BASE_OPTIONS, type Json } from "../support/fixtures";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const SEED = 20261128;
const PYTHON = "/usr/bin/python3";

const site = { package: "jaws-site", version: "2.5.4", pipFindLinks: ["/srv/wheels"], pipNoIndex: true };
const conf = (extra: Partial<ConfigFileProps> = {}): ConfigFileProps => ({
  path: "config/jaws-site.conf",
  template: "[DB]\nhost = {{host}}\npassword = {{secret.db}}\n",
  values: { host: "db.example.org" },
  secrets: { db: { envVariable: "JAWS_DB_PW" } },
  ...extra,
});

describe("rules: each bad prop named by construct path and field", () => {
  const rows: [string, ReturnType<typeof appModel>, string, string][] = [
    ["package with a space", appModel({ releases: { r: { ...site, package: "jaws site" } } }), "app/jaws/r", "package"],
    ["version 'current'", appModel({ releases: { r: { ...site, version: "current" } } }), "app/jaws/r", "version"],
    ["index not a URL", appModel({ releases: { r: { ...site, pipIndexUrl: "ftp://x" } } }), "app/jaws/r", "pipIndexUrl"],
    ["relative find-links", appModel({ releases: { r: { ...site, pipFindLinks: ["wheels"] } } }), "app/jaws/r", "pipFindLinks[0]"],
    ["wheel not a .whl", appModel({ releases: { r: { ...site, wheelFile: "/srv/site.tar.gz" } } }), "app/jaws/r", "wheelFile"],
    ["keepReleases 0", appModel({ releases: { r: { ...site, keepReleases: 0 } } }), "app/jaws/r", "keepReleases"],
    ["two releases of one package", appModel({ releases: { r: site, s: site } }), "app/jaws/s", "package"],
    [
      "venv and release both",
      appModel({ releases: { r: site }, services: { p: { command: ["x"], venv: "/srv/v", release: "r" } } }),
      "app/jaws/p",
      "venv",
    ],
    ["config in secret/", appModel({ configFiles: { c: conf({ path: "secret/x.conf" }) } }), "app/jaws/c", "path"],
    ["config path with a space", appModel({ configFiles: { c: conf({ path: "/srv/my conf" }) } }), "app/jaws/c", "path"],
    ["two files at one path", appModel({ configFiles: { c: conf(), d: conf() } }), "app/jaws/d", "path"],
    ["mode 0644", appModel({ configFiles: { c: conf({ mode: "0644" as never }) } }), "app/jaws/c", "mode"],
    ["0640 without a group", appModel({ configFiles: { c: conf({ mode: "0640" }) } }), "app/jaws/c", "group"],
    ["unknown format", appModel({ configFiles: { c: conf({ format: "yaml" as never }) } }), "app/jaws/c", "format"],
    ["value named secret", appModel({ configFiles: { c: conf({ values: { secret: "x" } }) } }), "app/jaws/c", "values.secret"],
    ["INI value ending in a space", appModel({ configFiles: { c: conf({ values: { host: "db " } }) } }), "app/jaws/c", "values.host"],
    ["INI value with $HOME", appModel({ configFiles: { c: conf({ values: { host: "$HOME" } }) } }), "app/jaws/c", "values.host"],
    [
      "secret with both sources",
      appModel({ configFiles: { c: conf({ secrets: { db: { envVariable: "A", fileVariable: "B" } as never } }) } }),
      "app/jaws/c",
      "secrets.db",
    ],
    [
      "secret variable with '-'",
      appModel({ configFiles: { c: conf({ secrets: { db: { envVariable: "JAWS-DB" } } }) } }),
      "app/jaws/c",
      "secrets.db",
    ],
    ["template naming an unknown value", appModel({ configFiles: { c: conf({ template: "x = {{nope}}\n" }) } }), "app/jaws/c", "template"],
    [
      "template with a placeholder",
      appModel({ configFiles: { c: conf({ template: "x = @@JAWS_SECRET(db)@@\n" }) } }),
      "app/jaws/c",
      "template",
    ],
    [
      "program's file not of its instance",
      appModel({ services: { p: { command: ["x"], configFiles: ["missing"] } } }),
      "app/jaws/p",
      "configFiles[0]",
    ],
  ];
  it.each(rows)("%s", (_label, m, path, field) => {
    expect(validateInstance(m)).toContainEqual(expect.objectContaining({ path, field }));
  });

  it("a valid release and config file pass", () => {
    const m = appModel({
      releases: { r: site },
      configFiles: { c: conf({ mode: "0640", group: "jaws" }) },
      services: { p: { command: ["jaws-site"], release: "r", configFiles: ["c"] } },
    });
    expect(validateInstance(m)).toEqual([]);
  });

  it("a release of another instance is named at synth", () => {
    const app = Testing.app();
    const stack = createStack(app, "s");
    const a = new SupervisorInstance(stack, "a", { ...BASE_OPTIONS, name: "a" });
    const b = new SupervisorInstance(stack, "b", { ...BASE_OPTIONS, name: "b" });
    const rel = new PythonRelease(a, "site", site);
    new JawsService(stack, "p", { instance: b, command: ["jaws-site"], release: rel });
    expect(() => Testing.synth(stack, true)).toThrow(/s\/p\] release: release jaws-site is not a release of this program's instance s\/b/);
  });
});

describe("rendering", () => {
  const m = (version: string, db = "db.example.org") =>
    appModel({
      releases: { r: { ...site, version } },
      configFiles: { c: conf({ values: { host: db } }) },
      services: { web: { command: ["jaws-site", "rpc-server"], release: "r", configFiles: ["c"] }, other: { command: ["sleep", "9"] } },
    });
  const fp = (r: ReturnType<typeof renderInstance>, name: string) => r.manifest.programs.find((p) => p.name === name)?.fingerprint;

  it("the wrapper runs the release's current venv; a new version changes exactly its programs' fingerprints", () => {
    const v1 = renderInstance(m("1.0"));
    const v2 = renderInstance(m("2.0"));
    expect(v1.wrappers.get("web")).toContain("export VIRTUAL_ENV=/srv/jaws/jaws-dev/releases/jaws-site/current");
    expect(v1.wrappers.get("web")).toBe(v2.wrappers.get("web"));
    expect(fp(v1, "web")).not.toBe(fp(v2, "web"));
    expect(fp(v1, "other")).toBe(fp(v2, "other"));
    const spec = JSON.parse(v2.files.find((f) => f.path === "state/releases.json")?.content ?? "{}");
    expect(spec.releases).toEqual([
      expect.objectContaining({ package: "jaws-site", version: "2.0", requirement: "jaws-site==2.0", keep: 3, programs: ["web"] }),
    ]);
  });

  it("the config file's text has its plain values and a placeholder for each secret", () => {
    const r = renderInstance(m("1.0"));
    expect(r.configFiles.get("/srv/jaws/jaws-dev/config/jaws-site.conf")).toBe(
      "[DB]\nhost = db.example.org\npassword = @@JAWS_SECRET(db)@@\n",
    );
    const spec = JSON.parse(r.files.find((f) => f.path === "config-files.json")?.content ?? "{}");
    expect(spec.files[0]).toMatchObject({ mode: "0600", group: null, format: "ini", secrets: { db: "env:JAWS_DB_PW" }, programs: ["web"] });
  });

  it("an instance without releases or config files renders no spec of them", () => {
    const r = renderInstance(appModel({ services: { p: { command: ["sleep", "9"] } } }));
    expect(r.files.map((f) => f.path)).not.toContain("state/releases.json");
    expect(r.files.map((f) => f.path)).not.toContain("config-files.json");
    expect(r.files.find((f) => f.path === "bin/deploy")?.content).not.toMatch(/release-|config-(render|install|save)/);
  });
});

describe("the secrets resource", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ["JAWS_SECRETS_FINGERPRINT_KEY", "JAWS_DB_PW", "K2"]) delete process.env[k];
    Object.assign(process.env, saved);
  });

  const synth = (kind: "terraform_data" | "null_resource" = "terraform_data") => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "jaws-secrets-unit-")) });
    const stack = createStack(app, "s");
    const i = new SupervisorInstance(stack, "supervisor", { ...BASE_OPTIONS, deployResource: kind });
    const c = new ConfigFile(i, "site-conf", conf());
    new JawsService(stack, "web", { instance: i, command: ["x"], configFiles: [c] });
    const json = JSON.parse(Testing.synth(stack as TerraformStack, true)) as Json;
    const all = json.resource[kind] as Json;
    const pick = (prefix: string) => Object.entries(all).find(([k]) => k.startsWith(prefix))?.[1] as Json;
    return { json, text: JSON.stringify(json), secrets: pick("supervisor_config_secrets_"), deploy: pick("supervisor_deploy_"), stack };
  };

  it("with the key: one keyed fingerprint per variable (HMAC-SHA256), the value nowhere; the deploy is replaced with it", () => {
    process.env.JAWS_SECRETS_FINGERPRINT_KEY = "k1";
    process.env.JAWS_DB_PW = "hunter2-%s'x";
    const { text, secrets, deploy } = synth();
    expect(secrets.triggers_replace).toEqual({
      "secret:env:JAWS_DB_PW": secretFingerprint("k1", { kind: "env", variable: "JAWS_DB_PW" }, "hunter2-%s'x"),
    });
    expect(secrets.lifecycle).toBeUndefined();
    expect(text).not.toContain("hunter2");
    expect(deploy.lifecycle.replace_triggered_by).toEqual([expect.stringMatching(/^terraform_data\.supervisor_config_secrets_/)]);
    expect(deploy.depends_on).toContainEqual(expect.stringMatching(/^terraform_data\.supervisor_config_secrets_/));
    // A new key gives other fingerprints: without it they reveal nothing of the value.
    process.env.JAWS_SECRETS_FINGERPRINT_KEY = "k2";
    expect(synth().secrets.triggers_replace).not.toEqual(secrets.triggers_replace);
  });

  it("without the key (a diff job): a constant trigger, ignored, and a warning", () => {
    const { secrets, stack } = synth("null_resource");
    expect(secrets.triggers).toEqual({ secrets: "not compared at synth: JAWS_SECRETS_FINGERPRINT_KEY is not set" });
    expect(secrets.lifecycle).toEqual({ ignore_changes: ["triggers"] });
    const warnings = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .map((e) => String(e.data));
    expect(warnings.some((w) => w.includes("secrets of config files are not compared"))).toBe(true);
  });

  it("the stack requires the highest Terraform any of its resources needs, whatever the order they were made in", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "jaws-secrets-unit-")) });
    const stack = createStack(app, "s");
    // terraform_data (>= 1.4) first, then a null_resource instance with secrets (replace_triggered_by, >= 1.2).
    new SupervisorInstance(stack, "a", { ...BASE_OPTIONS, deployResource: "terraform_data" });
    const b = new SupervisorInstance(stack, "b", { ...BASE_OPTIONS, name: "other", deployResource: "null_resource" });
    new JawsService(stack, "web", { instance: b, command: ["x"], configFiles: [new ConfigFile(b, "site-conf", conf())] });
    const json = JSON.parse(Testing.synth(stack as TerraformStack, true)) as Json;
    expect(json.terraform.required_version).toBe(">= 1.4");
  });

  it("with the key but without a variable: synth fails naming the variable and the config file", () => {
    process.env.JAWS_SECRETS_FINGERPRINT_KEY = "k1";
    expect(() => synth()).toThrow(/s\/supervisor\/site-conf\] secrets\.db: CI variable JAWS_DB_PW is not set/);
  });
});

describe("the send script, run by bash with a stand-in ssh", () => {
  const dir = mkdtempSync(join(tmpdir(), "jaws-send-"));
  const fakeSsh = join(dir, "ssh");
  writeFileSync(fakeSsh, `#!/bin/bash\nprintf '%s\\0' "$@" >"${dir}/argv"\ncat >"${dir}/stdin"\n`);
  chmodSync(fakeSsh, 0o755);
  const model = appModel({
    configFiles: {
      c: conf({
        secrets: { db: { envVariable: "JAWS_DB_PW" }, rmq: { fileVariable: "JAWS_RMQ_FILE" } },
        template: "{{secret.db}}{{secret.rmq}}",
      }),
    },
  });
  const script = renderSecretsScript(model);
  const runScript = (env: Record<string, string>) => {
    rmSync(join(dir, "stdin"), { force: true });
    rmSync(join(dir, "argv"), { force: true });
    return spawnSync("bash", ["-c", script], { env: { PATH: `${dir}:${process.env.PATH}`, ...env }, encoding: "utf8" });
  };
  const decode = () =>
    Object.fromEntries(
      readFileSync(join(dir, "stdin"), "utf8")
        .split("\n")
        .slice(1, -2)
        .map((l) => [l.split(" ")[0], Buffer.from(l.split(" ")[1], "base64").toString("utf8")]),
    );

  it("a missing variable fails naming it before any connection", () => {
    const r = runScript({ JAWS_RMQ_FILE: "/nonexistent" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "CI variable(s) not set: JAWS_DB_PW JAWS_RMQ_FILE (a file variable: /nonexistent is not a readable, non-empty file)",
    );
    expect(() => readFileSync(join(dir, "argv"))).toThrow();
  });

  it("property: every value reaches ssh's stdin byte for byte, never its argv or the output", () => {
    const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 24 }).filter((s) => !s.includes("\0"));
    fc.assert(
      fc.property(text, text, (db, rmqRaw) => {
        // A file variable drops one trailing newline; a value that is only newlines is empty.
        const rmq = rmqRaw.replace(/\n+$/, "") === "" ? `x${rmqRaw}` : rmqRaw;
        const file = join(dir, "rmq");
        writeFileSync(file, `${rmq}\n`);
        const r = runScript({ JAWS_DB_PW: db, JAWS_RMQ_FILE: file });
        expect(r.status, r.stderr).toBe(0);
        // The file holds the value and a newline, which the script drops.
        expect(decode()).toEqual({ "env:JAWS_DB_PW": db, "file:JAWS_RMQ_FILE": rmq });
        const argv = readFileSync(join(dir, "argv"), "utf8");
        for (const v of [db, rmq]) {
          if (v.length >= 3) {
            expect(argv.includes(v)).toBe(false);
            expect(r.stdout.includes(v) || r.stderr.includes(v)).toBe(false);
          }
        }
        expect(argv.split("\0")).toContain("jaws@cori20.nersc.gov");
      }),
      { numRuns: Math.min(RUNS, 60), seed: SEED },
    );
  });
});

describe("properties: a value never changes the meaning of the file it is written into", () => {
  const piece = fc.oneof(
    fc.constantFrom(
      "%",
      "%%",
      "%(here)s",
      "'",
      '"',
      ";",
      "#",
      " ;",
      "${",
      "$",
      "\\",
      "[x]",
      "=",
      ":",
      "{{",
      "}}",
      "\n",
      "\t",
      " ",
      "é",
      "😀",
    ),
    fc.string({ maxLength: 4 }),
  );
  const value = fc.array(piece, { maxLength: 6 }).map((p) => p.join(""));
  const values = fc.sample(value, { numRuns: RUNS, seed: SEED });

  /** What Python reads back: configparser (default interpolation) for ini, bash for env. */
  const readBack = (format: "ini" | "env", texts: string[]): (string | null)[] => {
    const py =
      format === "ini"
        ? "import configparser,json,sys\nout=[]\nfor t in json.load(sys.stdin):\n  c=configparser.ConfigParser()\n  try:\n    c.read_string(t); out.append(c.get('s','k'))\n  except Exception:\n    out.append(None)\nprint(json.dumps(out))"
        : "import json,subprocess,sys\nprint(json.dumps([subprocess.run(['bash','-c',t+'\\nprintf %s \"$k\"'],capture_output=True,text=True).stdout for t in json.load(sys.stdin)]))";
    const r = spawnSync(PYTHON, ["-c", py], { input: JSON.stringify(texts), encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  };

  for (const format of ["ini", "env"] as const) {
    it(`${format}: every accepted plain value is read back exactly; a refused one is named by its field`, () => {
      const texts: string[] = [];
      const accepted: string[] = [];
      for (const v of values) {
        const f = appModel({
          configFiles: { c: { path: "config/a", format, template: format === "ini" ? "[s]\nk = {{v}}\n" : "k={{v}}\n", values: { v } } },
        }).configFiles[0];
        const r = renderConfigFile(f);
        if (r.problems.length > 0) {
          expect(r.problems).toEqual([expect.objectContaining({ path: "app/jaws/c", field: "values.v" })]);
          continue;
        }
        texts.push(r.text);
        accepted.push(v);
      }
      expect(accepted.length).toBeGreaterThan(values.length / 4);
      expect(readBack(format, texts)).toEqual(accepted);
    });
  }

  it("secrets on the host: jawsctl's escape gives what configparser and bash read back (the same rules as synth's)", () => {
    const py = [
      "import json,sys",
      "sys.path.insert(0, sys.argv[1])",
      "from jawsctl import config_files",
      "out=[]",
      "for fmt,v in json.load(sys.stdin):",
      "  try: out.append(config_files.escape(fmt,v))",
      "  except ValueError: out.append(None)",
      "print(json.dumps(out))",
    ].join("\n");
    const pairs = (["ini", "env"] as const).flatMap((fmt) => values.map((v) => [fmt, v] as const));
    const r = spawnSync(PYTHON, ["-c", py, join(__dirname, "..", "..", "templates")], { input: JSON.stringify(pairs), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const escaped: (string | null)[] = JSON.parse(r.stdout);
    for (const fmt of ["ini", "env"] as const) {
      const own = pairs.map((p, i) => [p, escaped[i]] as const).filter(([p]) => p[0] === fmt);
      // Python refuses exactly what synth refuses, and writes what synth writes.
      for (const [[, v], e] of own) {
        const synth = renderConfigFile(
          appModel({ configFiles: { c: { path: "config/a", format: fmt, template: "{{v}}", values: { v } } } }).configFiles[0],
        );
        expect(e, JSON.stringify(v)).toBe(synth.problems.length ? null : synth.text);
      }
      const ok = own.filter(([, e]) => e !== null);
      const texts = ok.map(([, e]) => (fmt === "ini" ? `[s]\nk = ${e}\n` : `k=${e}\n`));
      expect(readBack(fmt, texts)).toEqual(ok.map(([[, v]]) => v));
    }
  });
});
