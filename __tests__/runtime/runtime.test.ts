/**
 * The host runtime's own tests (templates/jawsctl, Python's unittest, __tests__/runtime/test_*.py),
 * run with the Python that has supervisor, so `npm test` runs them too. A missing interpreter or
 * supervisor fails this test: it never skips.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { expect, it } from "vitest";

const REPO = resolve(__dirname, "..", "..");
const PYTHON = "/usr/bin/python3";

it("the jawsctl unit tests pass (python3 -m unittest discover -s __tests__/runtime)", () => {
  const r = spawnSync(PYTHON, ["-m", "unittest", "discover", "-s", "__tests__/runtime", "-p", "test_*.py"], {
    cwd: REPO,
    encoding: "utf8",
    timeout: 240_000,
    // No stray .pyc in templates/ (the bundle carries the package's .py files only, but keep it clean).
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  const output = `${r.error?.message ?? ""}${r.stdout}${r.stderr}`;
  expect(r.status, output).toBe(0);
  // unittest's summary: a run that found no tests would say "Ran 0 tests" and still exit 0 on old Pythons.
  expect(output).toMatch(/Ran [1-9]\d* tests?/);
  expect(output).toMatch(/\nOK\b/);
  // A skipped runtime test would pass unseen: none is allowed.
  expect(output).not.toMatch(/skipped=/);
}, 300_000);
