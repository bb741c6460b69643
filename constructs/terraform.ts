/**
 * The only module of the library that talks to cdktf (and the null provider):
 * a move to cdktn is a rename of these imports.
 */
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import {
  Annotations,
  anyToHclTerraform,
  anyToTerraform,
  dependable,
  Fn,
  HttpBackend,
  hashMapper,
  hashMapperHcl,
  Lazy,
  LocalBackend,
  PgBackend,
  type TerraformMetaArguments,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
} from "cdktf";
import type { Construct } from "constructs";
import type { SshSettings } from "./model/instance";
import type { DeployResourceKind } from "./model/values";
import { escapeTerraformTemplate } from "./render/escape";
import { gitlabStateAddress, type StateBackend } from "./state-backend";

/** What the deploy of one instance needs; producers run at synth, after every service is added. */
export interface DeployResourceSpec {
  readonly kind: DeployResourceKind;
  /** Connection settings; kept in triggers because destroy provisioners may only read `self`. */
  readonly connection: SshSettings;
  /** Where the instance lives on the host: with the connection, its identity. */
  readonly instanceDirectory: string;
  /** False when the model has problems: nothing is rendered, the values are placeholders. */
  readonly isValid: () => boolean;
  /** Every value that, when changed, must re-run the deploy (no secrets). */
  readonly triggers: () => Record<string, string>;
  /** The script run on the host (starts with `#!`): writes the instance's files and deploys them. */
  readonly bundle: () => string;
  /** Script that stops the instance; run on destroy. */
  readonly destroyScript: () => string;
}

/** Text that must reach the host byte for byte, never read as a Terraform template. */
const literal = escapeTerraformTemplate;

const toBase64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

function ensureNullProvider(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  if (!stack.node.tryFindChild("null")) new NullProvider(stack, "null");
}

/** Reads a key file at apply time; `~` is expanded by Terraform on the machine that deploys. */
const fileAtDeploy = (path: string) => Fn.file(Fn.pathexpand(path));

type Provisioners = TerraformMetaArguments["provisioners"];

/** The highest Terraform minor version each stack's resources asked for (1.x). */
const requiredMinor = new WeakMap<TerraformStack, number>();

/**
 * Declares that `scope`'s stack needs Terraform >= 1.`minor`; the stack keeps the highest of
 * its resources' needs (an instance with terraform_data and another with secrets: 1.4, not 1.2).
 */
function requireTerraform(scope: Construct, minor: number): void {
  const stack = TerraformStack.of(scope);
  const have = requiredMinor.get(stack) ?? 0;
  if (minor <= have) return;
  requiredMinor.set(stack, minor);
  stack.addOverride("terraform.required_version", `>= 1.${minor}`);
}

/**
 * Terraform's built-in `terraform_data` (Terraform >= 1.4). cdktf's own DataResource checks that
 * version by running `terraform version` once per resource at synth (seconds for a fleet); here
 * the stack declares `required_version` instead, which Terraform itself checks at init.
 */
class TerraformData extends TerraformResource {
  private readonly triggersReplace: unknown;
  constructor(scope: Construct, id: string, config: TerraformMetaArguments & { readonly triggersReplace: unknown }) {
    super(scope, id, { ...config, terraformResourceType: "terraform_data" });
    this.triggersReplace = config.triggersReplace;
    requireTerraform(this, 4);
  }
  protected synthesizeAttributes(): { [name: string]: unknown } {
    return { triggers_replace: hashMapper(anyToTerraform)(this.triggersReplace) };
  }
  protected synthesizeHclAttributes(): { [name: string]: unknown } {
    return { triggers_replace: hashMapperHcl(anyToHclTerraform)(this.triggersReplace) };
  }
}

/** A null_resource or terraform_data with an SSH connection read from its own triggers. */
function sshResource(
  scope: Construct,
  id: string,
  spec: DeployResourceSpec,
  triggers: () => Record<string, string>,
  provisioners: (self: (key: string) => string) => Provisioners,
  dependsOn?: TerraformResource[],
): TerraformResource {
  const triggersAttr = spec.kind === "terraform_data" ? "triggers_replace" : "triggers";
  // Plain `${self...}` strings, not cdktf tokens: every token records a stack trace when made,
  // which was a third of the synth time of a large fleet (source maps are on under tsx).
  const self = (key: string) => `\${self.${triggersAttr}.${key}}`;
  const c = spec.connection;
  const b = c.bastion;
  const connection = {
    type: "ssh" as const,
    host: self("host"),
    port: self("port") as unknown as number, // Terraform converts the string
    user: self("user"),
    timeout: "2m",
    hostKey: c.hostKey === undefined ? undefined : self("host_key"),
    privateKey: c.privateKeyFile === undefined ? undefined : fileAtDeploy(c.privateKeyFile),
    certificate: c.certificateFile === undefined ? undefined : fileAtDeploy(c.certificateFile),
    agent: c.privateKeyFile === undefined ? "true" : "false",
    // Terraform uploads remote-exec scripts here: the login directory, not a world-writable /tmp.
    scriptPath: "./.jaws-deploy-tf-%RAND%.sh",
    bastionHost: b?.host,
    bastionPort: b?.port,
    bastionUser: b?.user,
    bastionHostKey: b?.hostKey,
    bastionPrivateKey: b?.privateKeyFile === undefined ? undefined : fileAtDeploy(b.privateKeyFile),
    bastionCertificate: b?.certificateFile === undefined ? undefined : fileAtDeploy(b.certificateFile),
  };
  const allTriggers = Lazy.anyValue({
    produce: () => {
      const t: Record<string, string> = {
        host: c.host,
        port: String(c.port),
        user: c.user,
        ...(c.hostKey === undefined ? {} : { host_key: c.hostKey }),
        ...(spec.isValid() ? triggers() : { invalid: "see the validation errors" }),
      };
      return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, literal(v)]));
    },
  });
  const common = { connection, provisioners: provisioners(self), dependsOn };
  if (spec.kind === "terraform_data") {
    return new TerraformData(scope, id, { ...common, triggersReplace: allTriggers });
  }
  ensureNullProvider(scope);
  return new NullResource(scope, id, { ...common, triggers: allTriggers as unknown as Record<string, string> });
}

/**
 * Two resources per instance:
 * - `instance`: the instance's identity (host, user, directory). Its only provisioner runs at
 *   destroy and stops the instance. Deploys never replace it, so a failed or replaced deploy can
 *   never skip or trigger that stop (Terraform runs no destroy provisioner of a tainted or
 *   create_before_destroy object).
 * - `deploy`: triggered by the rendered content; its remote-exec script is the bundle, so
 *   Terraform uploads and runs it over one SSH connection (a `file` provisioner would open a second).
 *   The bundle travels as one base64 line: Terraform parses multi-line strings of its JSON in
 *   time quadratic in their length (171 s of `terraform plan` for 1,000 services).
 */
export function createDeployResources(
  scope: Construct,
  spec: DeployResourceSpec,
): { instance: TerraformResource; deploy: TerraformResource } {
  const instance = sshResource(
    scope,
    "instance",
    spec,
    () => ({ instance_dir: spec.instanceDirectory, destroy_script: spec.destroyScript() }),
    (self) => [
      // `when` is missing from cdktf's remote-exec type; Terraform accepts it.
      { type: "remote-exec", when: "destroy", inline: [self("destroy_script")] } as unknown as { type: "remote-exec"; inline: string[] },
    ],
  );
  const deploy = sshResource(
    scope,
    "deploy",
    spec,
    spec.triggers,
    () => [
      {
        type: "remote-exec",
        inline: [Lazy.stringValue({ produce: () => (spec.isValid() ? `\${base64decode("${toBase64(spec.bundle())}")}` : "exit 1") })],
      },
    ],
    [instance],
  );
  return { instance, deploy };
}

/** What the secrets of an instance's config files need (see secret-fingerprints.ts). */
export interface SecretsResourceSpec {
  readonly kind: DeployResourceKind;
  readonly isValid: () => boolean;
  /** Keyed fingerprints of the secrets' values (never a value, never a plain hash). */
  readonly triggers: () => Record<string, string>;
  /** False at a synth without the fingerprint key: the triggers are then ignored. */
  readonly comparable: boolean;
  /** Bash run on the machine that runs Terraform: checks the variables, sends the values over SSH's stdin. */
  readonly script: () => string;
}

/**
 * `config_secrets`: a resource whose triggers are the secrets' keyed fingerprints and whose only
 * provisioner is a `local-exec` of the send script (no value in its text: the script reads the CI
 * variables itself and pipes them to one SSH session). A changed fingerprint replaces it, and
 * `replace_triggered_by` then replaces the deploy (which runs after it), so the new values are
 * rendered into the config files; an unchanged one plans nothing and opens no SSH session. Without
 * the key (a diff job) the triggers are ignored, so a plan shows no false change.
 */
export function createSecretsResource(scope: Construct, deploy: TerraformResource, spec: SecretsResourceSpec): TerraformResource {
  const triggersAttr = spec.kind === "terraform_data" ? "triggers_replace" : "triggers";
  const triggers = Lazy.anyValue({
    produce: () =>
      Object.fromEntries(
        Object.entries(spec.isValid() ? spec.triggers() : { invalid: "see the validation errors" }).map(([k, v]) => [k, literal(v)]),
      ),
  });
  const common = {
    provisioners: [
      {
        type: "local-exec" as const,
        interpreter: ["bash", "-c"],
        command: Lazy.stringValue({ produce: () => (spec.isValid() ? `\${base64decode("${toBase64(spec.script())}")}` : "exit 1") }),
      },
    ],
    lifecycle: spec.comparable ? undefined : { ignoreChanges: [triggersAttr] },
  };
  let secrets: TerraformResource;
  if (spec.kind === "terraform_data") {
    secrets = new TerraformData(scope, "config_secrets", { ...common, triggersReplace: triggers });
  } else {
    ensureNullProvider(scope);
    secrets = new NullResource(scope, "config_secrets", { ...common, triggers: triggers as unknown as Record<string, string> });
    // replace_triggered_by (below) came with Terraform 1.2.
    requireTerraform(scope, 2);
  }
  // A plain reference: Terraform refuses `${...}` here (cdktf would write the resource's fqn so).
  deploy.lifecycle = { ...deploy.lifecycle, replaceTriggeredBy: [`${secrets.terraformResourceType}.${secrets.friendlyUniqueId}`] };
  deploy.dependsOn = [...(deploy.dependsOn ?? []), dependable(secrets)];
  return secrets;
}

/** A stack output a person can paste (a command line). */
export function addOutput(scope: Construct, id: string, value: string, description: string): void {
  new TerraformOutput(scope, id, { value: literal(value), description });
}

export function warn(scope: Construct, message: string): void {
  Annotations.of(scope).addWarning(message);
}

/**
 * A stack and its state backend. Local state lives at a path relative to the
 * project root (Terraform runs in `cdktf.out/stacks/<id>/`, hence `../../../`),
 * so the JSON does not depend on the directory it was made in, and a fresh
 * synth never loses state. No credential is ever written into the JSON.
 */
export function createStack(
  scope: Construct,
  id: string,
  backend: StateBackend = { kind: "local", path: `state/terraform.${id}.tfstate` },
): TerraformStack {
  const stack = new TerraformStack(scope, id);
  switch (backend.kind) {
    case "local":
      new LocalBackend(stack, { path: `../../../${backend.path}` });
      break;
    case "gitlab": {
      const address = gitlabStateAddress(backend.apiUrl, backend.projectId, backend.stateName);
      new HttpBackend(stack, {
        address,
        lockAddress: `${address}/lock`,
        unlockAddress: `${address}/lock`,
        lockMethod: "POST",
        unlockMethod: "DELETE",
        retryWaitMin: 5,
      });
      break;
    }
    case "pg":
      // conn_str is left out on purpose: Terraform reads it from PG_CONN_STR.
      new PgBackend(stack, { schemaName: backend.schemaName } as { connStr: string; schemaName: string });
      break;
  }
  return stack;
}

export { TerraformStack };
