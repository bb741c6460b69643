/**
 * The real app (`main.ts`) run the way operators and CI run it, on the test site
 * (`support/test-site.ts`, loaded with JAWS_SITES_MODULE): a throw-away project directory with its
 * own `cdktf.json`, `cdktf.out/` and `state/`, so nothing touches the repository's own state.
 *
 * Synthesis runs main.ts with tsx (what `cdktf synth` runs, minus the CLI's start-up); `cdktf()`
 * runs the real CLI when a test is about the CLI.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SupervisorInstanceOptions } from "../../../constructs";
import { hostKeyVariable } from "../../../sites/site";
import type { TestHostInfo, TestUserRole } from "../../host/test-host";
import { automationEnv, type CmdResult, runCommand, runCommandAsync, writeCdktfProject } from "./commands";
import { ROLES } from "./model";
import { BIN, jawsctlPids, REPO } from "./project";
import { TEST_SITE_NAME, TEST_SITE_USERS } from "./test-site";

const TEST_SITE_MODULE = path.join(__dirname, "test-site.ts");

/** Stack of an instance of the test site: `jaws-testhost`, `jtm-testhost`. */
export const siteStack = (role: TestUserRole) => `${role}-${TEST_SITE_NAME}`;

/** Instance directory on the host for a deployment (what SupervisorInstance computes). */
export const siteInstanceDir = (role: TestUserRole, deployment: string) =>
  `/home/${TEST_SITE_USERS[role]}/jaws-supervisor/${role}-${deployment}`;

export type { CmdResult };

/** Everything the app needs to target the test host, as CI variables would give it. */
export function siteEnv(info: TestHostInfo, extra: Record<string, string> = {}): Record<string, string> {
  const overrides: Partial<SupervisorInstanceOptions> = {
    port: info.port,
    pythonCommand: "/usr/bin/python3",
    venvSystemSitePackages: true,
    pipNoIndex: true,
    healthTimeoutSeconds: 20,
  };
  return {
    JAWS_SITES: TEST_SITE_NAME,
    JAWS_SITES_MODULE: TEST_SITE_MODULE,
    JAWS_TEST_HOST: path.join(info.dir, "test-host.json"),
    [hostKeyVariable(TEST_SITE_NAME)]: info.hostPublicKey,
    JAWS_OVERRIDES: JSON.stringify(overrides),
    JAWS_DEPLOY_RESOURCE: "terraform_data",
    JAWS_STATE_BACKEND: "local",
    JAWS_DEPLOYMENT: "dev",
    ...extra,
  };
}

export class SiteProject {
  readonly dir: string;
  readonly rc: string;

  constructor(
    readonly info: TestHostInfo,
    private readonly base: Record<string, string> = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-site-e2e-"));
    this.rc = writeCdktfProject(this.dir, `${path.join(BIN, "tsx")} ${path.join(REPO, "main.ts")}`, "jaws-deploy-e2e-site");
  }

  get outdir(): string {
    return path.join(this.dir, "cdktf.out");
  }

  stackDir(role: TestUserRole): string {
    return path.join(this.outdir, "stacks", siteStack(role));
  }

  /** The local state file of a stack and deployment (state/<deployment>/, relative to the project). */
  stateFile(role: TestUserRole, deployment: string): string {
    return path.join(this.dir, "state", deployment, `terraform.${siteStack(role)}.tfstate`);
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return automationEnv(this.rc, siteEnv(this.info, { ...this.base, ...extra }));
  }

  run(cmd: string, args: string[], extra: Record<string, string> = {}, timeoutMs = 240_000): CmdResult {
    return runCommand(cmd, args, { cwd: this.dir, env: this.env(extra), timeoutMs });
  }

  runAsync(cmd: string, args: string[], extra: Record<string, string> = {}): Promise<CmdResult> {
    return runCommandAsync(cmd, args, { cwd: this.dir, env: this.env(extra) });
  }

  /** `main.ts` into cdktf.out (both stacks of the test site), for `extra` (JAWS_DEPLOYMENT...). */
  synth(extra: Record<string, string> = {}): void {
    fs.rmSync(this.outdir, { recursive: true, force: true });
    const r = this.run(path.join(BIN, "tsx"), [path.join(REPO, "main.ts")], { ...extra, CDKTF_OUTDIR: this.outdir });
    if (r.code !== 0) throw new Error(`synth of main.ts failed (exit ${r.code}):\n${r.output}`);
  }

  /** Synthesized JSON of a stack. */
  stackJson(role: TestUserRole): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(this.stackDir(role), "cdk.tf.json"), "utf8"));
  }

  terraform(role: TestUserRole, args: string[], extra: Record<string, string> = {}): CmdResult {
    return this.run("terraform", [`-chdir=${this.stackDir(role)}`, ...args, "-no-color"], extra);
  }

  terraformAsync(role: TestUserRole, args: string[], extra: Record<string, string> = {}): Promise<CmdResult> {
    return this.runAsync("terraform", [`-chdir=${this.stackDir(role)}`, ...args, "-no-color"], extra);
  }

  /** `terraform init` of a freshly synthesized stack (-reconfigure: the synth dir is new each time). */
  init(role: TestUserRole, extra: Record<string, string> = {}): void {
    const r = this.terraform(role, ["init", "-input=false", "-reconfigure"], extra);
    if (r.code !== 0) throw new Error(`terraform init of ${siteStack(role)} failed:\n${r.output}`);
  }

  /** Synthesizes and applies both stacks at once; throws with Terraform's output on failure. */
  async deploy(extra: Record<string, string> = {}, roles: readonly TestUserRole[] = ROLES): Promise<CmdResult[]> {
    this.synth(extra);
    for (const role of roles) this.init(role, extra);
    const results = await Promise.all(roles.map((role) => this.terraformAsync(role, ["apply", "-auto-approve", "-input=false"], extra)));
    results.forEach((r, i) => {
      if (r.code !== 0) throw new Error(`terraform apply of ${siteStack(roles[i])} failed (exit ${r.code}):\n${r.output}`);
    });
    return results;
  }

  /** The cdktf CLI (node_modules/.bin/cdktf) in the project directory. */
  cdktf(args: string[], extra: Record<string, string> = {}): CmdResult {
    return this.run(path.join(BIN, "cdktf"), args, extra, 400_000);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** sha256 of a file, or "missing". */
export function fileHash(file: string): string {
  try {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  } catch {
    return "missing";
  }
}

/** {"group:process": pid} of one deployment's instance, through its own key (jawsctl), locally as the user. */
export function sitePids(role: TestUserRole, deployment: string): Record<string, number> {
  return jawsctlPids(role, siteInstanceDir(role, deployment));
}

/** The supervisord PID of an instance (its pidfile), or undefined. */
export function siteSupervisordPid(role: TestUserRole, deployment: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(`${siteInstanceDir(role, deployment)}/run/supervisord.pid`, "utf8"), 10);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Logs a measured duration (the report collects them). */
export function timing(label: string, ms: number): void {
  console.info(`[timing] ${label}: ${(ms / 1000).toFixed(1)} s`);
}
