/**
 * The GitLab pipeline, tested and not only written:
 * - `.gitlab-ci.yml` parsed (yaml): every job runs npm scripts of package.json, npx tools of its
 *   dependencies and files that exist; every STACK of a matrix is a stack `JAWS_SITES=cori`
 *   synthesizes; deployments are dev/staging/prod; prod is behind a manual gate; deploy jobs
 *   have a resource_group per stack and deployment;
 * - `gitlab-ci-local --list` (GitLab's schema) accepts it;
 * - the `test`, `diff` and `deploy` jobs run with gitlab-ci-local in shell mode in a copy of the
 *   working tree, the diff and deploy jobs pointed at the test host through variables only (the
 *   matrix value STACK overridden with --variable, the real matrix left as it is), as GitLab would
 *   run them: the pipeline's `gitlab` state backend against the harness's state server
 *   (testkit/state-server.ts: GitLab's routes, lock rules and basic auth with the job token; GitLab
 *   itself is the stand-in), and the deploy key given as SSH_PRIVATE_KEY_FILE, loaded into the
 *   job's ssh-agent by scripts/ci-ssh-agent.sh (no key file in the site).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { secretVariable } from "../../sites/jaws-config";
import { type RunResult, run } from "../../testkit/commands";
import { environ, pidsByProgram, procScan } from "../../testkit/processes";
import { BIN, Project, REPO } from "../../testkit/project";
import { type StateServerProcess, spawnStateServer } from "../../testkit/state-server";
import { ROLES, resetUserHome, runAsUser, type TestHostInfo } from "../../testkit/test-host";
import type { Variant } from "../../testkit/test-site";
import { instanceDir, siteBaseline, stackName } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { siteWithGreeting, timing } from "./support/fixture";
import { checkCommands, jobLines, matrixEntries, readPipeline, workingTreeCopy } from "./support/pipeline";

const { info, skipReason } = useTestHost();

const DEPLOYMENTS = ["dev", "staging", "prod"];
/** What gitlab-ci-local gives every job as CI_PROJECT_ID. */
const GLCL_PROJECT_ID = "1217";
/** The jaws stack's state of the dev deployment on the state server (constructs/state-backend.ts). */
const STATE_KEY = `${GLCL_PROJECT_ID}/${stackName("jaws")}-dev`;
const STATE_PATH = `/api/v4/projects/${GLCL_PROJECT_ID}/terraform/state/${stackName("jaws")}-dev`;

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

/** The test site's secret, named like the sites' (JAWS_SECRET_TESTHOST_DEV_GREETER_PASSWORD), and the fingerprint key. */
const SECRET_VARIABLE = secretVariable("testhost", "dev", "GREETER_PASSWORD");
const SECRETS = { old: `old-pw%'${Date.now()}`, new: `new-pw;"${Date.now()}`, key: `fp-key-${Math.random().toString(36).slice(2)}` };

/** `v` with a config file holding the secret, read by jaws-greeter (its file: config/greeter.conf). */
function withSecretConfig(v: Variant): Variant {
  v.jaws.configFiles = {
    greeter: {
      path: "config/greeter.conf",
      template: "[greeter]\npassword = {{secret.pw}}\n",
      secrets: { pw: { envVariable: SECRET_VARIABLE } },
    },
  };
  v.jaws.services["jaws-greeter"] = { ...v.jaws.services["jaws-greeter"], configFileIds: ["greeter"] };
  return v;
}

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

  test("secrets reach the deploy jobs only: deploy jobs have an environment (GitLab's scope of the secret variables), the diff job none and it drops any secret before cdktf", () => {
    for (const [name, job] of deployJobs)
      expect((job.environment as { name?: string } | undefined)?.name, `${name}: environment`).toMatch(/\$JAWS_DEPLOYMENT/);
    for (const [name, job] of diffJobs) {
      expect(job.environment, `${name}: no environment`).toBeUndefined();
      const lines = jobLines(job);
      const unset = lines.findIndex((l) => /^unset JAWS_SECRETS_FINGERPRINT_KEY \$\(compgen -v JAWS_SECRET_\)$/.test(l));
      expect(unset, `${name} drops the secrets`).toBeGreaterThanOrEqual(0);
      expect(unset).toBeLessThan(lines.findIndex((l) => l.includes("cdktf diff")));
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
  /** What GitLab gives each job as CI_JOB_TOKEN: the state server's password (TF_HTTP_PASSWORD: $CI_JOB_TOKEN). */
  const jobToken = `glcl-job-token-${Math.random().toString(36).slice(2)}`;
  let server: StateServerProcess;
  let project: Project;
  let copy: string;
  /** What CI variables give the diff and deploy jobs for the test site. */
  let testSiteVars: Record<string, string>;

  beforeAll(async () => {
    let t0 = Date.now();
    copy = workingTreeCopy();
    timing("pipeline: copy of the working tree", Date.now() - t0);
    t0 = Date.now();
    // GitLab's managed Terraform state: the harness's state server (GitLab's routes, lock rules and basic auth).
    server = await spawnStateServer({ username: "gitlab-ci-token", password: jobToken });
    timing("pipeline: state server started", Date.now() - t0);
    // The harness deploys the baseline into the same state the jobs use (gitlab-ci-local's CI_PROJECT_ID).
    project = new Project(host, {
      viaApp: true,
      env: {
        JAWS_STATE_BACKEND: "gitlab",
        JAWS_GITLAB_API_URL: server.apiUrl,
        JAWS_GITLAB_PROJECT_ID: GLCL_PROJECT_ID,
        TF_HTTP_USERNAME: "gitlab-ci-token",
        TF_HTTP_PASSWORD: jobToken,
        // The harness deploys the baseline as a deploy job would: the key and the secret set.
        JAWS_SECRETS_FINGERPRINT_KEY: SECRETS.key,
        [SECRET_VARIABLE]: SECRETS.old,
      },
    });
    // The jobs authenticate through the agent their before_script starts: no key file in the site.
    const agentVariant = withSecretConfig(siteWithGreeting("from-ci"));
    for (const role of ROLES) agentVariant[role].sshAgent = true;
    testSiteVars = {
      // node_modules is linked into the copy (npm ci: about a minute, and .ci/run has just run it).
      JAWS_CI_SKIP_NPM_CI: "1",
      JAWS_FORCE_DIFF: "1",
      STACK: stackName("jaws"),
      JAWS_SITES: "testhost",
      JAWS_SITES_MODULE: "testkit/test-site.ts",
      // The host and the changed variant (the host key and the port with them).
      JAWS_TEST_SITE: project.setVariant(agentVariant, host, path.join(project.dir, "ci-site.json")),
      JAWS_DEPLOY_RESOURCE: "terraform_data",
      // What GitLab sets: the API of its server (here the state server) and the job token. The
      // pipeline's own variables choose the gitlab backend and pass the token as TF_HTTP_PASSWORD.
      CI_API_V4_URL: server.apiUrl,
      CI_JOB_TOKEN: jobToken,
      // The deploy key as GitLab's file variable gives it: a path. scripts/ci-ssh-agent.sh loads it.
      SSH_PRIVATE_KEY_FILE: host.users.jaws.privateKeyPath,
    };
  });
  afterAll(async () => {
    for (const role of ROLES) resetUserHome(host, role);
    project?.remove();
    await server?.stop();
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

  test("the diff job shows the plan of a one-line change against the state on the (GitLab) state server; the deploy job applies it through ssh-agent", async () => {
    let t0 = Date.now();
    await project.deploy(withSecretConfig(siteBaseline()), { roles: ["jaws"] });
    timing("pipeline: deploy of the test site (the state the diff job reads)", Date.now() - t0);
    const before = await server.status();
    expect(Object.keys(before.states)).toEqual([STATE_KEY]);
    const greeter = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];
    const agents = () => procScan((argv) => /(^|\/)ssh-agent$/.test(argv[0])).map((p) => p.pid);
    const agentsBefore = agents();

    // One entry of the real matrix, its STACK pointed at the test site. It is given the secret and the
    // key as if they were defined without an environment scope: the job drops them, and its plan shows
    // no change of the secrets (not compared) and no error.
    const secretVars = { JAWS_SECRETS_FINGERPRINT_KEY: SECRETS.key, [SECRET_VARIABLE]: SECRETS.new };
    const diff = glcl(copy, ["diff: [jaws-cori,dev]", ...variables({ ...testSiteVars, ...secretVars })]);
    timing("pipeline: gitlab-ci-local diff job", diff.ms);
    console.info(diff.output.slice(-4000));
    expect(diff.code, diff.output.slice(-6000)).toBe(0);
    expect(diff.output).toMatch(/PASS\s+diff: \[jaws-cori,dev\]/);
    expect(diff.output).toMatch(/- export GREETING=hello/);
    expect(diff.output).toMatch(/\+ export GREETING=from-ci/);
    expect(diff.output).toMatch(/Plan: 1 to add, 0 to change, 1 to destroy\./);
    expect(diff.output).not.toContain("jaws-ticker");
    // The diff read the state from the server (as the job token), wrote nothing, left no lock.
    const afterDiff = await server.status();
    expect(afterDiff.requests.slice(before.requests.length)).toContain(`GET ${STATE_PATH} 200`);
    expect(afterDiff.requests.filter((q) => / 40[13]$/.test(q))).toEqual([]);
    expect(afterDiff.versions.length).toBe(before.versions.length);
    expect(afterDiff.locks).toEqual({});
    expect(pidsByProgram("jaws")["jaws-dev:jaws-greeter"]).toBe(greeter);
    expect(fs.existsSync(path.join(copy, "state")), "no local state in the job's checkout").toBe(false);

    expect(diff.output).toMatch(/secrets of config files are not compared: JAWS_SECRETS_FINGERPRINT_KEY is not set/);

    t0 = Date.now();
    // The deploy job gets the key and the rotated secret: the secrets are sent, then the deploy runs.
    const deploy = glcl(copy, ["deploy: [jaws-cori,dev]", ...variables({ ...testSiteVars, ...secretVars })]);
    timing("pipeline: gitlab-ci-local deploy job", Date.now() - t0);
    expect(deploy.code, deploy.output.slice(-6000)).toBe(0);
    expect(deploy.output).toMatch(/PASS\s+deploy: \[jaws-cori,dev\]/);
    expect(deploy.output).toMatch(/config secrets: 1 value\(s\) stored/);
    expect(deploy.output).toMatch(/Apply complete! Resources: 2 added, 0 changed, 2 destroyed/);
    expect(fs.readFileSync(path.join(instanceDir("jaws"), "config", "greeter.conf"), "utf8")).toBe(
      `[greeter]\npassword = ${SECRETS.new.replaceAll("%", "%%")}\n`,
    );
    // The jobs' logs: no secret value, in any form the deploy handles.
    const needles = [SECRETS.old, SECRETS.new, SECRETS.key].flatMap((v) => [v, Buffer.from(v).toString("base64"), v.replaceAll("%", "%%")]);
    const logs = { diff: diff.output, deploy: deploy.output };
    const hits = Object.entries(logs).flatMap(([job, log]) => needles.filter((n) => log.includes(n)).map(() => job));
    console.info(`[leak search] ${Object.keys(logs).length} job logs (${needles.length} forms of 3 values) searched, ${hits.length} hits`);
    expect(hits).toEqual([]);
    const after = pidsByProgram("jaws")["jaws-dev:jaws-greeter"];
    expect(after).not.toBe(greeter);
    expect(environ(after).GREETING).toBe("from-ci");

    // The new state is on the server: written under the job's lock, which was released.
    const afterDeploy = await server.status();
    expect(afterDeploy.states[STATE_KEY].serial).toBeGreaterThan(before.states[STATE_KEY].serial);
    expect(afterDeploy.requests.slice(afterDiff.requests.length)).toEqual(
      expect.arrayContaining([`POST ${STATE_PATH}/lock 200`, `POST ${STATE_PATH} 200`, `DELETE ${STATE_PATH}/lock 200`]),
    );
    expect(afterDeploy.locks).toEqual({});
    expect(fs.existsSync(path.join(copy, "state")), "no local state in the job's checkout").toBe(false);

    // SSH through the agent the job started: the stack has no key, only `agent`; gitlab-ci-local got
    // no SSH_AUTH_SOCK from this test (glcl's plain environment), so the job's agent was the only way in.
    const stack = JSON.parse(fs.readFileSync(path.join(copy, "cdktf.out", "stacks", stackName("jaws"), "cdk.tf.json"), "utf8"));
    const connections = Object.values(stack.resource.terraform_data as Record<string, { connection: Record<string, string> }>).map(
      (r) => r.connection,
    );
    // deploy and instance (SSH); config_secrets runs locally (its local-exec starts its own ssh, with the agent).
    expect(connections.filter(Boolean)).toHaveLength(2);
    for (const c of connections.filter(Boolean)) {
      expect(c).toMatchObject({ agent: "true" });
      expect(c).not.toHaveProperty("private_key");
    }
    // ...and the job killed its agent at its end.
    expect(agents().filter((p) => !agentsBefore.includes(p))).toEqual([]);
  });

  test("a scheduled pipeline runs only the drift jobs: the job passes while the host runs what the code renders, fails once it drifted", () => {
    const list = glcl(copy, ["--list", ...variables({ CI_PIPELINE_SOURCE: "schedule" })]);
    expect(list.code, list.output).toBe(0);
    for (const d of DEPLOYMENTS) expect(list.output).toMatch(new RegExp(`^drift: \\[cori,${d}\\]\\s+drift\\s+on_success`, "m"));
    expect(list.output).not.toMatch(/^(test|diff|deploy|deploy-prod)\b/m);
    // The test site's jaws instance as the deploy job above left it (the jtm one is not deployed here).
    const vars = {
      ...testSiteVars,
      CI_PIPELINE_SOURCE: "schedule",
      JAWS_SITE: "testhost",
      JAWS_DRIFT_ARGS: `--stack=${stackName("jaws")}`,
    };
    const ok = glcl(copy, ["drift: [cori,dev]", ...variables(vars)]);
    timing("pipeline: gitlab-ci-local drift job (in sync)", ok.ms);
    expect(ok.code, ok.output.slice(-4000)).toBe(0);
    expect(ok.output).toMatch(/PASS\s+drift: \[cori,dev\]/);
    expect(ok.output).toMatch(/testhost dev: in sync \(exit 0\)/);

    const edit = runAsUser("jaws", `echo '# tuned by hand' >> ${instanceDir("jaws")}/bin/jaws-greeter.sh`);
    expect(edit.code, edit.output).toBe(0);
    const drifted = glcl(copy, ["drift: [cori,dev]", ...variables(vars)]);
    console.info(drifted.output.slice(-3000));
    expect(drifted.code).not.toBe(0);
    expect(drifted.output).toMatch(/FAIL\s+drift: \[cori,dev\]/);
    expect(drifted.output).toMatch(/wrapper\s+bin\/jaws-greeter\.sh: edited on the host since the last deploy/);
    expect(drifted.output).toMatch(
      /fix: JAWS_SITES=testhost JAWS_DEPLOYMENT=dev JAWS_REDEPLOY=\$\(date \+%s\) npx cdktf deploy jaws-testhost --auto-approve/,
    );
  });
});
