import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { SITES, selectSites } from "../../sites";
import { EnvironmentError, hostKeyVariable, readEnvironment } from "../../sites/environment";
import { addSiteStacks } from "../../sites/stacks";
import { deployBundle, type Json, resourceOf, SAMPLE_HOST_KEY, synthStacks } from "../support/fixtures";

const ROOT = resolve(__dirname, "..", "..");

/** Host keys for the sites whose keys are not pinned in sites/known_hosts yet (CI variables do this). */
const hostKeys = Object.fromEntries(Object.keys(SITES).map((s) => [hostKeyVariable(s), SAMPLE_HOST_KEY]));

/** The stacks of every site, with the settings the app reads from `env` (JAWS_DEPLOYMENT, JAWS_STATE_BACKEND...). */
function synthSites(env: NodeJS.ProcessEnv): Record<string, Json> {
  const { sites, selection } = readEnvironment({ JAWS_SITES: "all", ...env });
  return synthStacks((app) => {
    for (const site of sites) addSiteStacks(app, site, selection);
  });
}

let devStacks: Record<string, Json> | undefined;
/** Every site's stacks for dev with the default backend: synthesized once for the whole file. */
const allDev = (): Record<string, Json> => {
  devStacks ??= synthSites(hostKeys);
  return devStacks;
};

describe("the site catalogue", () => {
  it("has Cori, LRC, Tahoma and Cascade; one stack for LRC's single instance", () => {
    const stacks = allDev();
    expect(Object.keys(stacks)).toEqual(["jaws-cori", "jtm-cori", "jaws-lrc", "jaws-tahoma", "jtm-tahoma", "jaws-cascade", "jtm-cascade"]);
    const lrc = resourceOf(stacks["jaws-lrc"]).triggers as Record<string, string>;
    for (const p of ["jaws-site-daemon", "jaws-deploy-client", "jaws-jtm", "jaws-cromwell", "jaws-deploy-worker"]) {
      expect(lrc[`file:supervisord.conf[program:${p}]`]).toMatch(new RegExp(`^\\[program:${p}\\]\n`));
    }
    const users = (id: string) => resourceOf(stacks[id]).triggers.user;
    expect([users("jaws-tahoma"), users("jtm-tahoma")]).toEqual(["svc-jtm-manager", "svc-jtm-user"]);
    const lrcBundle = deployBundle(resourceOf(stacks["jaws-lrc"]));
    expect(lrcBundle).toContain("\n  source /etc/profile\n  module load python/3.8.8\n");
  });

  it("takes host keys from JAWS_HOST_KEY_<SITE> before sites/known_hosts", () => {
    const key = (id: string) => resourceOf(allDev()[id]).triggers.host_key;
    expect(key("jaws-lrc")).toBe(SAMPLE_HOST_KEY);
    expect(key("jaws-cori")).toBe(SAMPLE_HOST_KEY);
    expect(readEnvironment({ JAWS_SITES: "cori,lrc", JAWS_HOST_KEY_LRC: ` ${SAMPLE_HOST_KEY}\n` }).selection.hostKeys).toEqual({ lrc: SAMPLE_HOST_KEY });
    const pinned = synthStacks((app) => addSiteStacks(app, SITES.cori, { deployment: "dev" }));
    expect(Object.keys(pinned)).toEqual(["jaws-cori", "jtm-cori"]);
    expect(resourceOf(pinned["jaws-cori"]).triggers.host_key).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E/);
  });

  it("refuses a site without a pinned host key, saying how to get one", () => {
    const app = Testing.app();
    addSiteStacks(app, SITES.lrc, { deployment: "dev" });
    expect(() => app.synth()).toThrow(
      /\[jaws-lrc\/supervisor\] hostKey: is required .*ssh-keyscan -p 22 -t ed25519 lrc-services\.lbl\.gov/,
    );
  });

  it("refuses an unknown site name", () => {
    expect(() => selectSites("cori,mars")).toThrow(/unknown site "mars" \(known: cori, lrc, tahoma, cascade, or all\)/);
  });
});

describe("state backends: one state per stack and deployment, no credential in the JSON", () => {
  const secretEnv = { ...hostKeys, TF_HTTP_PASSWORD: "glpat-SECRET", PG_CONN_STR: "postgres://u:SECRETPW@db/x" };

  it("local: a relative path per deployment", () => {
    const dev = allDev();
    const prod = synthSites({ ...hostKeys, JAWS_DEPLOYMENT: "prod" });
    expect(dev["jtm-tahoma"].terraform.backend.local.path).toBe("../../../state/dev/terraform.jtm-tahoma.tfstate");
    expect(prod["jtm-tahoma"].terraform.backend.local.path).toBe("../../../state/prod/terraform.jtm-tahoma.tfstate");
  });

  it("gitlab: the project's state API with lock and unlock, credentials left to TF_HTTP_*", () => {
    const env = { ...secretEnv, CI_API_V4_URL: "https://gitlab.example.org/api/v4", CI_PROJECT_ID: "1234" };
    const stacks = synthSites({ ...env, JAWS_DEPLOYMENT: "staging", JAWS_STATE_BACKEND: "gitlab" });
    const http = stacks["jaws-cori"].terraform.backend.http;
    const address = "https://gitlab.example.org/api/v4/projects/1234/terraform/state/jaws-cori-staging";
    expect(http).toEqual({
      address,
      lock_address: `${address}/lock`,
      unlock_address: `${address}/lock`,
      lock_method: "POST",
      unlock_method: "DELETE",
      retry_wait_min: 5,
    });
    expect(JSON.stringify(stacks)).not.toContain("SECRET");
  });

  it("gitlab without the project settings is a clear error", () => {
    expect(() => synthSites({ ...hostKeys, JAWS_STATE_BACKEND: "gitlab" })).toThrow(/needs JAWS_GITLAB_API_URL and JAWS_GITLAB_PROJECT_ID/);
  });

  it("pg: a schema per stack and deployment, connection from PG_CONN_STR", () => {
    const stacks = synthSites({ ...secretEnv, JAWS_DEPLOYMENT: "prod", JAWS_STATE_BACKEND: "pg" });
    expect(stacks["jtm-cori"].terraform.backend.pg).toEqual({ schema_name: "jaws_deploy_jtm_cori_prod" });
    expect(JSON.stringify(stacks)).not.toContain("SECRET");
  });
});

describe("the app's environment (sites/environment.ts)", () => {
  it("defaults: Cori, dev, local state, null_resource, ssh-agent", () => {
    const { sites, selection } = readEnvironment({});
    expect(sites.map((s) => s.name)).toEqual(["cori"]);
    expect(selection).toEqual({ deployment: "dev", deployResource: "null_resource", stateBackend: "local", hostKeys: {} });
  });

  it("lists every bad variable at once, each with what it accepts", () => {
    const read = () =>
      readEnvironment({ JAWS_SITES: "cori", JAWS_DEPLOYMENT: "qa", JAWS_STATE_BACKEND: "s3", JAWS_DEPLOY_RESOURCE: "aws_instance" });
    expect(read).toThrow(EnvironmentError);
    expect(read).toThrow(/JAWS_DEPLOYMENT="qa": site cori has dev, staging, prod/);
    expect(read).toThrow(/JAWS_STATE_BACKEND="s3": must be one of local, gitlab, pg/);
    expect(read).toThrow(/JAWS_DEPLOY_RESOURCE="aws_instance": must be one of null_resource, terraform_data/);
    expect(() => readEnvironment({ JAWS_SITES: "mars" })).toThrow(/JAWS_SITES .*unknown site "mars"/);
  });

  it("reads the key files, redeploy token and GitLab project (CI variables as fallback)", () => {
    const { selection } = readEnvironment({
      JAWS_SSH_KEY_FILE: "~/.ssh/deploy",
      JAWS_SSH_CERT_FILE: "~/.ssh/deploy-cert.pub",
      JAWS_REDEPLOY: "42",
      JAWS_STATE_BACKEND: "gitlab",
      CI_API_V4_URL: "https://gitlab.example.org/api/v4",
      CI_PROJECT_ID: "7",
      JAWS_GITLAB_PROJECT_ID: "9",
    });
    expect(selection).toMatchObject({
      privateKeyFile: "~/.ssh/deploy",
      certificateFile: "~/.ssh/deploy-cert.pub",
      redeployToken: "42",
      gitlab: { apiUrl: "https://gitlab.example.org/api/v4", projectId: "9" },
    });
  });
});

describe("main.ts", () => {
  it("stops with the list of bad variables, without a stack trace", () => {
    const env = { ...process.env, JAWS_STATE_BACKEND: "s3" };
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "main.ts")], { cwd: ROOT, env, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('jaws-deploy: bad environment:\n  JAWS_STATE_BACKEND="s3": must be one of local, gitlab, pg\n');
  });

  it("synthesizes every selected site and deployment from the environment", () => {
    const out = mkdtempSync(join(tmpdir(), "jaws-main-"));
    try {
      const env = { ...process.env, ...hostKeys, JAWS_SITES: "all", JAWS_DEPLOYMENT: "staging", CDKTF_OUTDIR: out };
      const r = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "main.ts")], { cwd: ROOT, env, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readdirSync(join(out, "stacks")).sort()).toEqual([
        "jaws-cascade",
        "jaws-cori",
        "jaws-lrc",
        "jaws-tahoma",
        "jtm-cascade",
        "jtm-cori",
        "jtm-tahoma",
      ]);
      const json = readFileSync(join(out, "stacks", "jaws-cori", "cdk.tf.json"), "utf8");
      expect(json).toContain("/global/cfs/projectdirs/jaws/supervisor/jaws/jaws-staging");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
