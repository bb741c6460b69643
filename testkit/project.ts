/**
 * A throw-away cdktf project for the test site: its own cdktf.json (the app is `main.ts`),
 * `cdktf.out/` and `state/`, so nothing touches the repository's own. Stacks are synthesized
 * in-process (fast: `addSiteStacks` on `testSite`) or by running `main.ts` with the test site
 * loaded through JAWS_SITES_MODULE (the way CI runs it); then real Terraform, per stack
 * (`terraform -chdir=cdktf.out/stacks/<stack>`), or the cdktf CLI.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { App } from "cdktf";
import { addSiteStacks } from "../sites/stacks";
import { automationEnv, type Running, type RunOptions, type RunResult, run, start } from "./commands";
import { ROLES, type TestHostInfo, type TestUserRole } from "./test-host";
import { DEPLOYMENT, SITE_NAME, stackName, testSite, type Variant } from "./test-site";

export const REPO = path.resolve(__dirname, "..");
export const BIN = path.join(REPO, "node_modules", ".bin");

export interface ProjectOptions {
  /** Synthesize by running main.ts (as `cdktf synth` does) instead of in-process. @default false */
  readonly viaApp?: boolean;
  /** More environment for the app and Terraform (JAWS_STATE_BACKEND, PG_CONN_STR...). */
  readonly env?: Record<string, string>;
}

export class Project {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-project-"));
  readonly outdir = path.join(this.dir, "cdktf.out");
  /** The test site's host and variant for main.ts (JAWS_TEST_SITE). */
  readonly siteFile = path.join(this.dir, "test-site.json");
  private readonly rc = path.join(this.dir, "terraformrc");
  /** Backend each stack dir was initialised with, to init again only when it changed. */
  private readonly initialised = new Map<TestUserRole, string>();

  constructor(
    readonly info: TestHostInfo,
    private readonly opts: ProjectOptions = {},
  ) {
    const app = `${BIN}/tsx ${REPO}/main.ts`;
    const cdktfJson = { language: "typescript", app, output: "cdktf.out", projectId: "jaws-deploy-tests", sendCrashReports: "false" };
    fs.writeFileSync(path.join(this.dir, "cdktf.json"), JSON.stringify({ ...cdktfJson, terraformProviders: [], terraformModules: [] }));
    fs.writeFileSync(this.rc, "");
  }

  /** The environment of every command: Terraform unattended, the app pointed at the test site. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return automationEnv(this.rc, {
      CI: "1",
      JAWS_SITES: SITE_NAME,
      JAWS_SITES_MODULE: path.join(__dirname, "test-site.ts"),
      JAWS_TEST_SITE: this.siteFile,
      JAWS_DEPLOYMENT: DEPLOYMENT,
      JAWS_DEPLOY_RESOURCE: "terraform_data",
      JAWS_STATE_BACKEND: "local",
      ...this.opts.env,
      ...extra,
    });
  }

  stackDir(role: TestUserRole): string {
    return path.join(this.outdir, "stacks", stackName(role));
  }

  /** The synthesized JSON of a stack. */
  stackJson(role: TestUserRole): { terraform: { backend: Record<string, Record<string, string>> } } & Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(this.stackDir(role), "cdk.tf.json"), "utf8"));
  }

  /** The local state file of a stack and deployment. */
  stateFile(role: TestUserRole, deployment = DEPLOYMENT): string {
    return path.join(this.dir, "state", deployment, `terraform.${stackName(role)}.tfstate`);
  }

  /** Writes the site file main.ts reads (JAWS_TEST_SITE): this host (or `info`) with `variant`. */
  setVariant(variant: Variant, info: TestHostInfo = this.info, file = this.siteFile): string {
    fs.writeFileSync(file, JSON.stringify({ info, variant }));
    return file;
  }

  run(cmd: string, args: readonly string[], extra: Record<string, string> = {}, opts: RunOptions = {}): RunResult {
    return run(cmd, args, { cwd: this.dir, env: this.env(extra), ...opts });
  }

  /** Both stacks of `variant` into cdktf.out, for `deployment`. */
  synth(variant: Variant, deployment = DEPLOYMENT): void {
    this.setVariant(variant);
    if (this.opts.viaApp) {
      const r = this.run(`${BIN}/tsx`, [`${REPO}/main.ts`], { JAWS_DEPLOYMENT: deployment, CDKTF_OUTDIR: this.outdir });
      if (r.code !== 0) throw new Error(`synth of main.ts failed (exit ${r.code}):\n${r.output}`);
      return;
    }
    const app = new App({ outdir: this.outdir });
    addSiteStacks(app, testSite(this.info, variant), { deployment, deployResource: "terraform_data", stateBackend: "local" });
    app.synth();
  }

  /** `terraform <args> -no-color` in the stack's directory (init first when its backend is new). */
  terraform(role: TestUserRole, args: readonly string[], extra: Record<string, string> = {}): RunResult {
    this.init(role, extra);
    return this.run("terraform", [`-chdir=${this.stackDir(role)}`, ...args, "-no-color"], extra);
  }

  /** Like `terraform`, running in the background, its output lines stamped. */
  startTerraform(role: TestUserRole, args: readonly string[], extra: Record<string, string> = {}): Running {
    this.init(role, extra);
    return start("terraform", [`-chdir=${this.stackDir(role)}`, ...args, "-no-color"], { cwd: this.dir, env: this.env(extra) });
  }

  /** `terraform init` of a synthesized stack, unless it was initialised with the same backend. */
  init(role: TestUserRole, extra: Record<string, string> = {}): void {
    const backend = JSON.stringify(this.stackJson(role).terraform.backend);
    // The remembered backend is gone when main.ts switched deployments (sites/backend-switch.ts).
    if (this.initialised.get(role) === backend && fs.existsSync(path.join(this.stackDir(role), ".terraform", "terraform.tfstate"))) return;
    const r = run("terraform", [`-chdir=${this.stackDir(role)}`, "init", "-input=false", "-reconfigure", "-no-color"], {
      cwd: this.dir,
      env: this.env(extra),
    });
    if (r.code !== 0) throw new Error(`terraform init of ${stackName(role)} failed:\n${r.output}`);
    this.initialised.set(role, backend);
  }

  apply = (role: TestUserRole, extra: Record<string, string> = {}) =>
    this.terraform(role, ["apply", "-auto-approve", "-input=false"], extra);
  /** 0 no changes, 2 changes, 1 error. */
  plan = (role: TestUserRole, extra: Record<string, string> = {}) =>
    this.terraform(role, ["plan", "-detailed-exitcode", "-input=false"], extra);
  destroy = (role: TestUserRole) => this.terraform(role, ["destroy", "-auto-approve", "-input=false"]);

  /** Synthesizes `variant` and applies the stacks at the same time (they share nothing); throws with Terraform's output when one fails. */
  async deploy(variant: Variant, opts: { roles?: readonly TestUserRole[]; deployment?: string } = {}): Promise<RunResult[]> {
    const { roles = ROLES, deployment = DEPLOYMENT } = opts;
    this.synth(variant, deployment);
    const extra = { JAWS_DEPLOYMENT: deployment };
    const results = await Promise.all(
      roles.map((role) => this.startTerraform(role, ["apply", "-auto-approve", "-input=false"], extra).done),
    );
    results.forEach((r, i) => {
      if (r.code !== 0) throw new Error(`terraform apply of ${stackName(roles[i])} failed (exit ${r.code}):\n${r.output}`);
    });
    return results;
  }

  /** The cdktf CLI in the project directory, with `variant` as the test site's. */
  cdktf(variant: Variant, args: readonly string[], extra: Record<string, string> = {}): RunResult {
    this.setVariant(variant);
    return this.run(`${BIN}/cdktf`, args, extra, { timeoutMs: 400_000 });
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
