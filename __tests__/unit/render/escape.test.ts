/**
 * Every escape of render/escape.ts, checked as properties over generated inputs against the real
 * consumers: Python's shlex and `%` formatting (what supervisord applies to `command=`), and bash.
 * Each property runs its generated cases in one Python or bash process.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  escapePercent,
  escapePercentKeepExpansions,
  escapeTerraformTemplate,
  heredocDelimiter,
  quoteSupervisorArg,
  shellQuote,
  shlexSplit,
  supervisorCommandLine,
} from "../../../constructs/render/escape";
import { CONTROL_CHARS } from "../../../constructs/render/syntax";
import { SUPERVISOR_PYTHON } from "../../support/supervisord-parser";

const RUNS = 300;
const ROOT = resolve(__dirname, "..", "..", "..");
/** Terraform without the machine's missing CLI config file, without update checks. */
const automationEnv = () => ({ ...process.env, TF_CLI_CONFIG_FILE: join(ROOT, "terraform.rc"), CHECKPOINT_DISABLE: "1" });
const SEED = 20261128;

/** Characters that matter to shlex, bash, supervisord and Terraform, mixed with plain and Unicode ones. */
const tricky = fc.constantFrom(
  ..." \t'\"\\$`;#%(){}[]|&<>*?!~=,:@+-_./\u00e9\u00a0\u2028\u3000\u0085 aZ09",
  "%(here)s",
  "%(ENV_HOME)s",
  "${x}",
  "%{y}",
);
const text = (charset = tricky) => fc.array(fc.oneof(charset, fc.string({ maxLength: 3 })), { maxLength: 12 }).map((a) => a.join(""));
/** One line of text without control characters (what a config line or argument may carry). */
const lineText = text().filter((s) => !CONTROL_CHARS.test(s));

/** Runs a Python snippet over a JSON list of inputs; it prints one JSON list of outputs. */
function python(code: string, inputs: unknown[]): unknown[] {
  const r = spawnSync(SUPERVISOR_PYTHON, ["-c", `import json, shlex, sys\ninputs = json.load(sys.stdin)\n${code}`], {
    input: JSON.stringify(inputs),
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${SUPERVISOR_PYTHON} failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Samples of an arbitrary, reproducible from the seed. */
const sample = <T>(arb: fc.Arbitrary<T>): T[] => fc.sample(arb, { numRuns: RUNS, seed: SEED });

describe("escape: supervisord's command= (Python shlex after % formatting)", () => {
  it("an argv rendered by supervisorCommandLine comes back exactly from the config reader's strip, % formatting and shlex.split", () => {
    const argvs = sample(fc.array(lineText, { minLength: 1, maxLength: 4 }));
    const lines = argvs.map((argv) => ` ${escapePercent(supervisorCommandLine(argv))} `);
    // What supervisord does to command=: strip (configparser), `%(here)s` replaced textually (with
    // an [include]), `%` formatting with the program's names, shlex.split.
    const back = python(
      "print(json.dumps([shlex.split(l.strip().replace('%(here)s', '/HERE') % {'program_name': 'p', 'here': '/HERE'}) for l in inputs]))",
      lines,
    );
    expect(back).toEqual(argvs);
  });

  it("no ';' or '#' of a rendered argument follows whitespace (the config reader would cut the line there)", () => {
    fc.assert(
      fc.property(lineText, (arg) => !/\s[;#]/.test(quoteSupervisorArg(arg))),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("shlexSplit splits every line as Python's shlex.split does (or refuses what shlex refuses)", () => {
    const lines = sample(lineText);
    const expected = python(
      "out = []\nfor l in inputs:\n  try: out.append(shlex.split(l))\n  except ValueError: out.append(None)\nprint(json.dumps(out))",
      lines,
    );
    expect(lines.map((l) => shlexSplit(l) ?? null)).toEqual(expected);
  });

  it("escapePercent makes any value literal under % formatting", () => {
    const values = sample(lineText);
    expect(python("print(json.dumps([v % {} for v in inputs]))", values.map(escapePercent))).toEqual(values);
  });

  it("keeps supervisord's own expansions working and everything else literal", () => {
    const names = { program_name: "p", process_num: 3, here: "/srv/x", group_name: "g", host_node_name: "h", numprocs: 2 };
    const values = sample(
      fc.array(fc.oneof(lineText, fc.constantFrom("%(program_name)s", "%(process_num)02d", "%(here)s", "%(bogus)s", "%%")), {
        maxLength: 5,
      }),
    ).map((parts) => parts.join(""));
    const got = python(
      `names = ${JSON.stringify(names)}\nprint(json.dumps([v % names for v in inputs]))`,
      values.map(escapePercentKeepExpansions),
    );
    const expected = values.map((v) =>
      v.replace(/%\((program_name|process_num|here|group_name|host_node_name|numprocs)\)(02d|s)/g, (_all, n: keyof typeof names, conv) =>
        conv === "02d" ? String(names[n]).padStart(2, "0") : String(names[n]),
      ),
    );
    expect(got).toEqual(expected);
  });
});

describe("escape: bash words", () => {
  it("shellQuote gives bash exactly one word equal to the value", () => {
    const values = sample(text().filter((s) => !s.includes("\u0000")));
    const script = values.map((v) => `printf '%s\\0' ${shellQuote(v)}`).join("\n");
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(values);
  });
});

describe("escape: heredocs and Terraform templates", () => {
  it("heredocDelimiter never equals a line of the content", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(text(), fc.constantFrom("JAWS_DEPLOY_EOF", "JAWS_DEPLOY_EOF_1")), { maxLength: 6 }), (lines) => {
        const content = lines.join("\n");
        return !content.split("\n").includes(heredocDelimiter(content));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("escapeTerraformTemplate: Terraform itself reads every escaped value back as the value", () => {
    const values = sample(text(fc.constantFrom("$", "%", "{", "}", "a", '"', "\\", "\u00e9")));
    const expr = `base64encode(jsonencode([${values.map((v) => JSON.stringify(escapeTerraformTemplate(v))).join(",")}]))`;
    const dir = mkdtempSync(join(tmpdir(), "jaws-tf-console-"));
    try {
      const r = spawnSync("terraform", ["console"], { cwd: dir, input: `${expr}\n`, encoding: "utf8", env: automationEnv() });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(Buffer.from(r.stdout.trim().replace(/^"|"$/g, ""), "base64").toString("utf8"))).toEqual(values);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
