/**
 * The library's guarantee, as properties over generated models (fast-check, seeded): for every
 * value the model accepts, what supervisord's real parser and bash see is what was declared; every
 * refused value is named by field and path, once; the readable triggers are the files the bundle
 * writes; the host-conflict rule agrees with the file system. `PROPERTY_RUNS=2000 npx vitest run
 * __tests__/unit/properties.test.ts` runs a longer search by hand.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack, Testing } from "cdktf";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JawsService, type JawsServiceOptions, SupervisorInstance } from "../../constructs";
import type { InstanceModel } from "../../constructs/model/instance";
import { configSections, renderInstance } from "../../constructs/render/render-instance";
import { hostConflicts, validateInstance } from "../../constructs/rules";
import { BASE_OPTIONS, deployBundle, model, prepareInstanceDir, realBaseDirectory, resourceOf, TEMPLATES } from "../support/fixtures";
import { parseSupervisordFiles, requireSupervisordParser, SUPERVISOR_PYTHON } from "../support/supervisord-parser";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const SEED = 20261128;
const sample = <T>(arb: fc.Arbitrary<T>, runs = RUNS): T[] => fc.sample(arb, { numRuns: runs, seed: SEED });

/** Text a user might put in an argument or a value: shell, INI, % and Terraform syntax, Unicode, edges of whitespace. */
const piece = fc.oneof(
  fc.constantFrom(" ", "\t", "'", '"', "\\", "$", "`", ";", " ;", " #", "#", "%", "%%", "%(here)s", "%(ENV_HOME)s", "%(program_name)s"),
  fc.constantFrom(
    "${HOME}",
    "$${x}",
    "%{ if a }",
    "(",
    ")",
    "[program:x]",
    "=",
    ",",
    "\u00a0",
    "\u2028",
    "\u3000",
    "\u00e9",
    "\ud83d\ude00",
  ),
  fc.string({ maxLength: 4 }),
);
const value = fc.array(piece, { maxLength: 6 }).map((p) => p.join(""));
const envKey = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/);

/** The program that reports what it received: its argv after the fixed prefix, and the declared variables. */
const DUMP =
  "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], 'env': {k: os.environ.get(k) for k in json.loads(os.environ['DECLARED'])}}))";

interface Case {
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly useWrapper: boolean;
  /** supervisord's own environment ([supervisord] environment=). */
  readonly supervisordEnv: Record<string, string>;
}
const cases = fc.record({
  args: fc.array(value, { maxLength: 4 }),
  env: fc.dictionary(envKey, value, { maxKeys: 3 }),
  useWrapper: fc.boolean(),
  supervisordEnv: fc.dictionary(envKey, value, { maxKeys: 2 }),
});

function programOf(c: Case): JawsServiceOptions {
  return { command: [SUPERVISOR_PYTHON, "-c", DUMP, ...c.args], environment: c.env, useWrapper: c.useWrapper };
}

describe("for every accepted argv and environment, supervisord and bash see exactly what was declared", () => {
  let base: { base: string; cleanup: () => void };
  beforeAll(() => {
    requireSupervisordParser();
    base = realBaseDirectory();
  });
  afterAll(() => base?.cleanup());

  it("with and without the wrapper", () => {
    const accepted: { c: Case; m: InstanceModel }[] = [];
    sample(cases, RUNS * 3).forEach((c, i) => {
      const m = model({ name: `i${i}`, baseDirectory: base.base, environment: c.supervisordEnv }, { p: programOf(c) });
      if (validateInstance(m).length === 0) accepted.push({ c, m });
    });
    expect(accepted.length).toBeGreaterThan(RUNS);
    const files = accepted.map(({ m }) => {
      prepareInstanceDir(m);
      const r = renderInstance(m);
      for (const f of r.files) {
        if (f.path === "supervisord.conf" || f.path.startsWith("bin/")) writeFileSync(join(m.dir, f.path), f.content, { mode: 0o700 });
      }
      return join(m.dir, "supervisord.conf");
    });
    const parsed = parseSupervisordFiles(files, { ...process.env, PYTHONPATH: TEMPLATES });
    // supervisord execs shlex.split(command) with the config's environment: split the way it does.
    const split = spawnSync(
      SUPERVISOR_PYTHON,
      ["-c", "import json,shlex,sys; print(json.dumps([shlex.split(c) for c in json.load(sys.stdin)]))"],
      {
        input: JSON.stringify(parsed.map((p) => (p.ok ? p.programs[0].command : ""))),
        encoding: "utf8",
      },
    );
    const argvs: string[][] = JSON.parse(split.stdout);
    accepted.forEach(({ c, m }, i) => {
      const p = parsed[i];
      if (!p.ok) throw new Error(`supervisord refused an accepted model (${JSON.stringify(c)}): ${p.error}`);
      const program = p.programs[0];
      expect(p.supervisord.environment, JSON.stringify(c)).toEqual(c.supervisordEnv);
      if (!c.useWrapper) {
        expect(argvs[i], JSON.stringify(c)).toEqual([SUPERVISOR_PYTHON, "-c", DUMP, ...c.args]);
        expect(program.environment, JSON.stringify(c)).toEqual({ ...c.supervisordEnv, ...c.env });
        return;
      }
      expect(argvs[i]).toEqual([`${m.dir}/bin/p.sh`]);
      // The wrapper, run by bash as supervisord would exec it.
      const run = spawnSync("bash", [`${m.dir}/bin/p.sh`], {
        env: { PATH: process.env.PATH, DECLARED: JSON.stringify(Object.keys(c.env)) },
        encoding: "utf8",
      });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout), JSON.stringify(c)).toEqual({ argv: c.args, env: c.env });
    });
  });
});

describe("for every refused value, the problem names the construct path and the field, once", () => {
  it("with printable messages", () => {
    const arb = fc.record({
      args: fc.array(value, { maxLength: 3 }),
      env: fc.dictionary(fc.oneof(envKey, value), value, { maxKeys: 2 }),
      useWrapper: fc.boolean(),
      base: fc.oneof(
        fc.constant("/srv/jaws"),
        value.map((v) => `/srv/${v}`),
      ),
      port: fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.double()),
    });
    let refused = 0;
    for (const c of sample(arb, RUNS * 2)) {
      const m = model(
        { baseDirectory: c.base, port: c.port },
        { p: { command: ["run", ...c.args], environment: c.env, useWrapper: c.useWrapper } },
      );
      const problems = validateInstance(m);
      if (problems.length > 0) refused++;
      const seen = new Set<string>();
      for (const p of problems) {
        expect(["app/jaws", "app/jaws/p"]).toContain(p.path);
        expect(p.field).toMatch(/^[A-Za-z]/);
        expect(p.message).not.toMatch(/[\n\r]/);
        const key = `${p.path}|${p.field}|${p.message}`;
        expect(seen.has(key), key).toBe(false);
        seen.add(key);
      }
    }
    expect(refused).toBeGreaterThan(RUNS / 4);
  });
});

describe("the readable triggers are the files the bundle writes, byte for byte", () => {
  it("for generated programs", () => {
    const { base, cleanup } = realBaseDirectory();
    // The bundle ends by exec'ing `bash .../bin/deploy`: a `bash` first on PATH that does nothing stops it there.
    const stub = mkdtempSync(join(tmpdir(), "jaws-stub-"));
    writeFileSync(join(stub, "bash"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    try {
      sample(fc.array(cases, { minLength: 1, maxLength: 3 }), Math.max(10, RUNS / 10)).forEach((programs, n) => {
        const app = Testing.app();
        const stack = new TerraformStack(app, "s");
        const instance = new SupervisorInstance(stack, "supervisor", { ...BASE_OPTIONS, name: `t${n}`, baseDirectory: base });
        programs.forEach((c, i) => {
          new JawsService(stack, `p${i}`, { instance, ...programOf(c) });
        });
        if (validateInstance(instance.model()).length > 0) return;
        const r = resourceOf(JSON.parse(Testing.synth(stack, true)));
        // From a file, as Terraform's remote-exec runs it: the bundle is longer than one argument may be (128 KiB).
        const script = join(stub, "bundle.sh");
        writeFileSync(script, deployBundle(r));
        const run = spawnSync("/bin/bash", [script], {
          cwd: base,
          env: { ...process.env, PATH: `${stub}:${process.env.PATH}` },
          encoding: "utf8",
        });
        expect(run.status, run.stderr).toBe(0);
        const stage = join(instance.directory, ".deploy", "incoming");
        // As Terraform reads them (and `cdktf diff` shows them): `$${` is `${`, `%%{` is `%{` (see escape.test.ts).
        const triggers = Object.fromEntries(
          Object.entries(r.triggers as Record<string, string>).map(([k, v]) => [k, v.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{")]),
        );
        // The staged config, cut at its section headers, is the config triggers (JSON sorts their keys).
        const staged = Object.fromEntries(
          [...configSections(readFileSync(join(stage, "supervisord.conf"), "utf8"))].map(([s, t]) => [
            s === "" ? "file:supervisord.conf" : `file:supervisord.conf[${s}]`,
            t,
          ]),
        );
        expect(Object.fromEntries(Object.entries(triggers).filter(([k]) => k.startsWith("file:supervisord.conf")))).toEqual(staged);
        for (const [k, v] of Object.entries(triggers).filter(([key]) => key.startsWith("file:bin/"))) {
          expect(readFileSync(join(stage, k.slice("file:".length)), "utf8")).toBe(v);
        }
      });
    } finally {
      cleanup();
      rmSync(stub, { recursive: true, force: true });
    }
  });
});

describe("host conflicts agree with the file system", () => {
  it("two spellings conflict exactly when they are one directory", () => {
    const root = realBaseDirectory();
    try {
      const segment = fc.constantFrom("a", "b", "srv");
      const spelling = fc
        .array(fc.tuple(segment, fc.constantFrom("/", "//", "/./")), { minLength: 1, maxLength: 3 })
        .chain((parts) => fc.tuple(fc.constant(parts), fc.boolean()))
        .map(([parts, slash]) => `${root.base}${parts.map(([s, sep]) => `${sep}${s}`).join("")}${slash ? "/" : ""}`);
      for (const [x, y] of sample(fc.tuple(spelling, spelling), RUNS)) {
        mkdirSync(x, { recursive: true });
        mkdirSync(y, { recursive: true });
        const same = realpathSync(x) === realpathSync(y);
        const a = model({ baseDirectory: x }, {}, "app/a");
        const b = model({ baseDirectory: y }, {}, "app/b");
        expect(
          hostConflicts([a, b]).some((p) => p.field === "baseDirectory"),
          `${x} ${y}`,
        ).toBe(same);
      }
    } finally {
      root.cleanup();
    }
  });
});

describe("for every accepted Slurm option, sbatch gets exactly what was declared", () => {
  // Words as Slurm takes them: no whitespace or control characters (the rule refuses those), anything else.
  const word = fc
    .array(piece, { minLength: 1, maxLength: 5 })
    .map((p) => p.join("").replace(/[\s\u0085\u0000-\u001f\u007f]/g, ""))
    .filter((w) => w.length > 0);
  const options = fc.record({
    slurmQos: fc.option(word, { nil: undefined }),
    slurmConstraint: fc.option(word, { nil: undefined }),
    slurmAccount: fc.option(word, { nil: undefined }),
    slurmPartition: fc.option(word, { nil: undefined }),
    slurmTimeLimit: fc.constantFrom("90-00:00:00", "720", "1:30", "2-12", "UNLIMITED"),
    slurmCpusPerTask: fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
  });

  it("bash reads the job name, time limit and sbatch options of the shell library as declared", () => {
    for (const o of sample(options)) {
      const m = model({ launcher: "slurm", inetPort: 64101, ...o }, { p: { command: ["sleep", "1"] } });
      expect(validateInstance(m), JSON.stringify(o)).toEqual([]);
      const lib = renderInstance(m).files.find((f) => f.path === "lib/jaws-lib.sh")?.content ?? "";
      const lines = lib.split("\n").filter((l) => /^SLURM_(JOB_NAME|TIME_LIMIT|SBATCH_OPTIONS)=/.test(l));
      expect(lines).toHaveLength(3);
      const r = spawnSync(
        "bash",
        ["-c", `${lines.join("\n")}\nprintf '%s\\0' "$SLURM_JOB_NAME" "$SLURM_TIME_LIMIT" "\${SLURM_SBATCH_OPTIONS[@]}"`],
        {
          encoding: "utf8",
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const expected = [
        "supervisor-jaws-dev",
        o.slurmTimeLimit,
        ...(o.slurmQos === undefined ? [] : [`--qos=${o.slurmQos}`]),
        ...(o.slurmConstraint === undefined ? [] : [`--constraint=${o.slurmConstraint}`]),
        ...(o.slurmAccount === undefined ? [] : [`--account=${o.slurmAccount}`]),
        ...(o.slurmPartition === undefined ? [] : [`--partition=${o.slurmPartition}`]),
        `--time=${o.slurmTimeLimit}`,
        ...(o.slurmCpusPerTask === undefined ? [] : [`--cpus-per-task=${o.slurmCpusPerTask}`]),
      ];
      expect(r.stdout.split("\0").slice(0, -1), JSON.stringify(o)).toEqual(expected);
    }
  });

  it("refuses a value with whitespace or a control character, naming its field", () => {
    for (const [field, v] of sample(fc.tuple(fc.constantFrom("slurmQos", "slurmConstraint", "slurmAccount", "slurmPartition"), value))) {
      const m = model({ launcher: "slurm", inetPort: 64101, [field]: v });
      const refused = validateInstance(m).some((p) => p.field === field);
      expect(refused, JSON.stringify(v)).toBe(v === "" || /[\s\u0085\u0000-\u001f\u007f]/.test(v));
    }
  });
});
