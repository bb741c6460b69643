/**
 * The GitLab pipeline, tested and not only written:
 * - `.gitlab-ci.yml` parsed (yaml): every job runs npm scripts of package.json, npx tools of its
 *   dependencies and files that exist; every STACK of a matrix is a stack `JAWS_SITES=cori`
 *   synthesizes; deployments are dev/staging/prod; prod is behind a manual gate; deploy jobs
 *   have a resource_group per stack and deployment;
 * - `gitlab-ci-local --list` (GitLab's schema) accepts it;
 * - the `test`, `diff` and `deploy` jobs run with gitlab-ci-local in shell mode in a copy of the
 *   working tree, the diff and deploy jobs pointed at the test host through variables only (the
 *   matrix value STACK overridden with --variable, the real matrix left as it is).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunResult, run } from "../../testkit/commands";
import { environ, pidsByProgram } from "../../testkit/processes";
import { BIN, Project, REPO } from "../../testkit/project";
import { ROLES, resetUserHome, type TestHostInfo } from "../../testkit/test-host";
import { siteBaseline, stackName } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { fileHash, siteWithGreeting, timing } from "./support/fixture";
import { checkCommands, jobLines, matrixEntries, readPipeline, workingTreeCopy } from "./support/pipeline";

const { info, skipReason } = useTestHost();

const DEPLOYMENTS = ["dev", "staging", "prod"];
const CHANGE = siteWithGreeting("from-ci");

/** Stacks the real app synthesizes for JAWS_SITES=cori (no host, no key needed). */
function coriStacks(): string[] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "jaws-pipeline-synth-")), "cdktf.out");
  try {
    const r = run(path.join(BIN, "tsx"), [path.join(REPO, "main.ts")], {
      cwd: REPO,
      env: {
        ...process.env,
        JAWS_SITES: "cori",
        JAWS_SITES_MODULE: "",
        JAWS_DEPLOYMENT: "dev",
        JAWS_STATE_BACKEND: "local",
        CDKTF_OUTDIR: out,
      },
    });
    if (r.code !== 0) throw new Error(`synth failed: ${r.output}`);
    return fs.readdirSync(path.join(out, "stacks")).sort();
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

/** Runs gitlab-ci-local in `cwd` with a plain environment (not vitest's, not the test site's). */
function glcl(cwd: string, args: string[]): RunResult {
  const r = run(path.join(BIN, "gitlab-ci-local"), ["--no-color", ...args], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: "C.UTF-8",
      USER: "root",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
    timeoutMs: 400_000,
  });
  // Jobs' tools may still colour their output: assertions read the text.
  return { ...r, output: r.output.replace(/\x1b\[[0-9;]*m/g, "") };
}

const variables = (vars: Record<string, string>) => Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]);

describe("the GitLab pipeline, read", () => {
  const { jobs } = readPipeline();
  /** Synthesized by the first test that needs it, not while the file is collected. */
  let synthesized: string[] | undefined;
  const stacks = () => (synthesized ??= coriStacks());
  const cdktfJobs = Object.entries(jobs).filter(([, j]) => jobLines(j).some((l) => l.includes("cdktf ")));
  const deployJobs = cdktfJobs.filter(([, j]) => jobLines(j).some((l) => /cdktf deploy/.test(l)));
  const diffJobs = cdktfJobs.filter(([, j]) => jobLines(j).some((l) => /cdktf diff/.test(l)));

  test("JAWS_SITES=cori synthesizes jaws-cori and jtm-cori", () => {
    expect(stacks()).toEqual(["jaws-cori", "jtm-cori"]);
  });

  test("every job runs only npm scripts of package.json, npx tools of its dependencies and files that exist", () => {
    expect(Object.keys(jobs)).toEqual(expect.arrayContaining(["test", "diff"]));
    const stackArgs: string[] = [];
    const problems = Object.entries(jobs).flatMap(([name, job]) => checkCommands(name, job, stackArgs));
    expect(problems).toEqual([]);
    // cdktf always gets the stack from the matrix, never a hard-coded one.
    expect(new Set(stackArgs)).toEqual(new Set(["$STACK"]));
    // The test job runs the project's tests.
    expect(jobLines(jobs.test).some((l) => /^npm test\b/.test(l))).toBe(true);
  });

  test("every STACK of every matrix is a synthesized stack; deployments are dev, staging, prod; each pair diffed and deployed", () => {
    expect(diffJobs.length).toBeGreaterThan(0);
    expect(deployJobs.length).toBeGreaterThan(0);
    const pairs = (list: typeof cdktfJobs) => list.flatMap(([, j]) => matrixEntries(j)).map((e) => `${e.STACK}/${e.JAWS_DEPLOYMENT}`);
    for (const [name, job] of cdktfJobs) {
      for (const e of matrixEntries(job)) {
        expect(stacks(), `${name}: STACK ${e.STACK}`).toContain(e.STACK);
        expect(DEPLOYMENTS, `${name}: JAWS_DEPLOYMENT ${e.JAWS_DEPLOYMENT}`).toContain(e.JAWS_DEPLOYMENT);
      }
    }
    const all = stacks()
      .flatMap((s) => DEPLOYMENTS.map((d) => `${s}/${d}`))
      .sort();
    expect([...new Set(pairs(diffJobs))].sort()).toEqual(all);
    expect(pairs(deployJobs).sort()).toEqual(all); // each exactly once
  });

  test("prod deploys only by hand; deploys only from the default branch, one at a time per stack and deployment; diffs on merge requests", () => {
    for (const [name, job] of deployJobs) {
      const deploysProd = matrixEntries(job).some((e) => e.JAWS_DEPLOYMENT === "prod");
      const rules = job.rules ?? [];
      expect(rules.length, `${name} has rules`).toBeGreaterThan(0);
      for (const rule of rules) {
        expect(rule.if, name).toMatch(/\$CI_COMMIT_BRANCH == \$CI_DEFAULT_BRANCH/);
        if (deploysProd) expect(rule.when, `${name}: prod behind a manual gate`).toBe("manual");
      }
      if (deploysProd)
        expect(
          matrixEntries(job).every((e) => e.JAWS_DEPLOYMENT === "prod"),
          `${name} mixes prod with others`,
        ).toBe(true);
      expect(job.resource_group, `${name}: resource_group`).toMatch(/\$STACK/);
      expect(job.resource_group, `${name}: resource_group`).toMatch(/\$JAWS_DEPLOYMENT/);
    }
    for (const [name, job] of diffJobs) {
      expect((job.rules ?? []).map((r) => r.if).join(" "), name).toMatch(/merge_request_event/);
      expect(job.resource_group, `${name} deploys nothing`).toBeUndefined();
    }
  });

  test("no credential in the pipeline: state credentials are the job token, the key a file variable", () => {
    const text = fs.readFileSync(path.join(REPO, ".gitlab-ci.yml"), "utf8");
    expect(text).not.toMatch(/PRIVATE KEY-----|ssh-ed25519 AAAA|glpat-/);
    const { raw } = readPipeline();
    expect((raw.variables as Record<string, string>).TF_HTTP_PASSWORD).toBe("$CI_JOB_TOKEN");
  });
});

describe.skipIf(!info)(`the GitLab pipeline, run with gitlab-ci-local (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const project = new Project(host, { viaApp: true });
  let copy: string;
  /** What CI variables give the diff and deploy jobs for the test site. */
  let testSiteVars: Record<string, string>;

  beforeAll(async () => {
    const t0 = Date.now();
    copy = workingTreeCopy();
    timing("pipeline: copy of the working tree", Date.now() - t0);
    testSiteVars = {
      // node_modules is linked into the copy (npm ci: about a minute, and .ci/run has just run it).
      JAWS_CI_SKIP_NPM_CI: "1",
      JAWS_FORCE_DIFF: "1",
      STACK: stackName("jaws"),
      JAWS_SITES: "testhost",
      JAWS_SITES_MODULE: "testkit/test-site.ts",
      // The host and the changed variant (the host key, the port and the users' keys with them).
      JAWS_TEST_SITE: project.setVariant(CHANGE, host, path.join(project.dir, "ci-site.json")),
      JAWS_DEPLOY_RESOURCE: "terraform_data",
      JAWS_STATE_BACKEND: "local",
    };
  });
  afterAll(() => {
    for (const role of ROLES) resetUserHome(host, role);
    project.remove();
    if (copy) fs.rmSync(path.dirname(copy), { recursive: true, force: true });
  });

  test("gitlab-ci-local --list validates the pipeline against GitLab's schema and lists every job", () => {
    const r = glcl(copy, ["--list", "--variable", "JAWS_FORCE_DIFF=1"]);
    timing("pipeline: gitlab-ci-local --list", r.ms);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/json schema validated/);
    for (const s of ["jaws-cori", "jtm-cori"]) {
      for (const d of DEPLOYMENTS) expect(r.output).toMatch(new RegExp(`^diff: \\[${s},${d}\\]\\s+diff\\s+on_success`, "m"));
      for (const d of ["dev", "staging"]) expect(r.output).toMatch(new RegExp(`^deploy: \\[${s},${d}\\]\\s+deploy\\s+on_success`, "m"));
      expect(r.output).toMatch(new RegExp(`^deploy-prod: \\[${s},prod\\]\\s+deploy\\s+manual`, "m"));
    }
  });

  test("the test job runs (lint, type check, unit tier) and passes", () => {
    const r = glcl(copy, ["test", ...variables({ JAWS_CI_SKIP_NPM_CI: "1", JAWS_TEST_ARGS: "--project unit" })]);
    timing("pipeline: gitlab-ci-local test job", r.ms);
    // On failure, the job's failing lines first (a snapshot diff can be long), then its end.
    const failing = r.output
      .split("\n")
      .filter((l) => /FAIL|×|error/i.test(l))
      .slice(0, 40)
      .join("\n");
    expect(r.code, `${failing}\n...\n${r.output.slice(-2000)}`).toBe(0);
    expect(r.output).toMatch(/PASS\s+test/);
    expect(r.output).toMatch(/Test Files\s+\d+ passed/);
  });

  test("the diff job shows the plan of a one-line change against the deployed state; the deploy job applies it", async () => {
    let t0 = Date.now();
    await project.deploy(siteBaseline());
    timing("pipeline: deploy of the test site (the state the diff job reads)", Date.now() - t0);
    for (const role of ROLES) {
      const dst = path.join(copy, "state", "dev", path.basename(project.stateFile(role)));
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(project.stateFile(role), dst);
    }
    const state = path.join(copy, "state", "dev", `terraform.${stackName("jaws")}.tfstate`);
    const before = fileHash(state);
    const greeter = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];

    // One entry of the real matrix, its STACK pointed at the test site.
    const diff = glcl(copy, ["diff: [jaws-cori,dev]", ...variables(testSiteVars)]);
    timing("pipeline: gitlab-ci-local diff job", diff.ms);
    console.info(diff.output.slice(-4000));
    expect(diff.code, diff.output.slice(-6000)).toBe(0);
    expect(diff.output).toMatch(/PASS\s+diff: \[jaws-cori,dev\]/);
    expect(diff.output).toMatch(/- export GREETING=hello/);
    expect(diff.output).toMatch(/\+ export GREETING=from-ci/);
    expect(diff.output).toMatch(/Plan: 1 to add, 0 to change, 1 to destroy\./);
    expect(diff.output).not.toContain("jaws-ticker");
    // A diff changes nothing: same state, same process.
    expect(fileHash(state)).toBe(before);
    expect(pidsByProgram("jaws")["jaws-dev:jaws-greeter"]).toBe(greeter);

    t0 = Date.now();
    const deploy = glcl(copy, ["deploy: [jaws-cori,dev]", ...variables(testSiteVars)]);
    timing("pipeline: gitlab-ci-local deploy job", Date.now() - t0);
    expect(deploy.code, deploy.output.slice(-6000)).toBe(0);
    expect(deploy.output).toMatch(/PASS\s+deploy: \[jaws-cori,dev\]/);
    expect(deploy.output).toMatch(/Apply complete! Resources: 1 added, 0 changed, 1 destroyed/);
    const after = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];
    expect(after).not.toBe(greeter);
    expect(environ(after).GREETING).toBe("from-ci");
    expect(fileHash(state)).not.toBe(before);
  });
});
