/**
 * Probe values (an HTTP URL and body text, a command's argv) carrying newlines, quotes, `%`, `$`,
 * `${`, `;`: whatever is accepted never changes the supervisord config, the program's wrapper or a
 * deploy script (the probe travels as JSON), the host's JSON parser reads exactly what was declared,
 * and bash running the probe wrapper execs exactly the declared argv. Seeded fast-check, as in
 * properties.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthCheck } from "../../constructs";
import { renderInstance } from "../../constructs/render/render-instance";
import { validateInstance } from "../../constructs/rules";
import { model, realBaseDirectory } from "../support/fixtures";
import { SUPERVISOR_PYTHON } from "../support/supervisord-parser";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const SEED = 20261128;
const sample = <T>(arb: fc.Arbitrary<T>, runs = RUNS): T[] => fc.sample(arb, { numRuns: runs, seed: SEED });

const piece = fc.oneof(
  fc.constantFrom(" ", "\n", "\r", "'", '"', "\\", "$", "`", ";", " ;", " #", "%", "%%", "%(here)s", "${HOME}", "$${x}", "%{ if a }"),
  fc.constantFrom("[program:x]", "=", ",", "&", "?", "#", "\u00e9", "\u2028", "\ud83d\ude00", "\u0000"),
  fc.string({ maxLength: 4 }),
);
const value = fc.array(piece, { maxLength: 6 }).map((p) => p.join(""));

const probeArb = fc.oneof(
  fc.record({ http: value.map((v) => `http://127.0.0.1:8080/${v}`), bodyMatch: value }),
  fc.record({ command: fc.array(value, { maxLength: 4 }).map((a) => ["probe", ...a]) }),
) as fc.Arbitrary<HealthCheck>;

const DUMP = "import json, sys; print(json.dumps(sys.argv[1:]))";
const program = { command: ["/srv/app/bin/serve", "--port", "8080"], environment: { A: "1" } };

describe("probe values never change a config or a shell command", () => {
  let base: { base: string; cleanup: () => void };
  beforeAll(() => {
    base = realBaseDirectory();
  });
  afterAll(() => base?.cleanup());

  it("refused values are named in the healthCheck field; accepted ones change only the manifest and the probe wrapper", () => {
    const cases = sample(probeArb, RUNS * 2);
    const plain = renderInstance(model({ baseDirectory: base.base }, { p: program }));
    const sameButId = (a: string, b: string, idA: string, idB: string) => expect(a.replaceAll(idA, "ID")).toBe(b.replaceAll(idB, "ID"));
    const accepted: { h: HealthCheck; json: string; wrapper?: string }[] = [];
    for (const h of cases) {
      const m = model({ baseDirectory: base.base }, { p: { ...program, healthCheck: h } });
      const problems = validateInstance(m);
      if (problems.length > 0) {
        for (const p of problems) {
          expect(p.path).toBe("app/jaws/p");
          expect(p.field).toMatch(/^healthCheck\.(http|bodyMatch|command\[\d+\])$/);
        }
        continue;
      }
      const r = renderInstance(m);
      expect(r.supervisordConf).toBe(plain.supervisordConf);
      expect(r.wrappers).toEqual(plain.wrappers);
      for (const path of ["bin/supervisorctl", "bin/ensure", "lib/jaws-lib.sh", "bin/deploy"]) {
        const f = (x: typeof r) => x.files.find((file) => file.path === path)?.content ?? "";
        sameButId(f(r), f(plain), r.deployId, plain.deployId);
      }
      const json = r.files.find((f) => f.path === "state/programs.json")?.content as string;
      accepted.push({ h, json, wrapper: r.files.find((f) => f.path === "bin/p@probe.sh")?.content });
    }
    expect(accepted.length).toBeGreaterThan(RUNS / 2);
    expect(accepted.length).toBeLessThan(cases.length);

    // Python's json (what jawsctl reads on the host) gets exactly the declared URL and body text.
    const py = spawnSync(
      SUPERVISOR_PYTHON,
      ["-c", "import json,sys; print(json.dumps([json.loads(t)['programs'][0]['probe'] for t in json.load(sys.stdin)]))"],
      {
        input: JSON.stringify(accepted.map((a) => a.json)),
        encoding: "utf8",
      },
    );
    expect(py.status, py.stderr).toBe(0);
    const read = JSON.parse(py.stdout) as Record<string, unknown>[];
    accepted.forEach(({ h }, i) => {
      if ("http" in h) expect(read[i]).toMatchObject({ kind: "http", url: h.http, bodyMatch: h.bodyMatch });
      else expect(read[i]).toMatchObject({ kind: "command", wrapper: `${base.base}/jaws-dev/bin/p@probe.sh` });
    });

    // bash runs the probe wrapper: the command is exec'd with exactly the declared argv.
    const dir = join(base.base, "wrappers");
    mkdirSync(dir, { recursive: true });
    let ran = 0;
    accepted.forEach(({ h, wrapper }, i) => {
      if (!("command" in h)) return;
      const file = join(dir, `w${i}.sh`);
      const [, ...args] = h.command;
      writeFileSync(file, (wrapper as string).replace(/^exec probe/m, `exec ${SUPERVISOR_PYTHON} -c '${DUMP}'`), { mode: 0o700 });
      const run = spawnSync("bash", [file], { env: { PATH: process.env.PATH }, encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout), JSON.stringify(h)).toEqual(args);
      ran++;
    });
    expect(ran).toBeGreaterThan(RUNS / 5);
  });
});
