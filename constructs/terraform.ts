/**
 * The only module of the library that talks to cdktf (and the null provider):
 * a move to cdktn is a rename of these imports.
 */
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import {
  Annotations,
  DataResource,
  Fn,
  HttpBackend,
  Lazy,
  LocalBackend,
  PgBackend,
  TerraformOutput,
  type TerraformResource,
  TerraformSelf,
  TerraformStack,
  Token,
} from "cdktf";
import type { Construct } from "constructs";
import { escapeTerraformTemplate } from "./escape";
import type { DeployResourceKind } from "./instance-model";
import { gitlabStateAddress, type StateBackend } from "./state-backend";

/** What one deploy resource needs; producers run at synth, after every service is added. */
export interface DeployResourceSpec {
  readonly kind: DeployResourceKind;
  /** Connection settings that must survive in state for the destroy provisioner. */
  readonly connection: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly hostKey?: string;
    readonly privateKeyFile?: string;
    readonly certificateFile?: string;
    readonly bastion?: {
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly hostKey?: string;
      readonly privateKeyFile?: string;
      readonly certificateFile?: string;
    };
  };
  /** Remote path (relative to the login directory) the bundle is uploaded to. */
  readonly bundleDestination: string;
  /** Every value that, when changed, must re-run the deploy (no secrets). */
  readonly triggers: () => Record<string, string>;
  readonly bundle: () => string;
  /** Shell command run by remote-exec to execute the uploaded bundle. */
  readonly runCommand: string;
}

/** Text that must reach the host byte for byte, never read as a Terraform template. */
const literal = escapeTerraformTemplate;

function ensureNullProvider(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  if (!stack.node.tryFindChild("null")) new NullProvider(stack, "null");
}

/** Reads a key file at apply time; `~` is expanded by Terraform on the machine that deploys. */
const fileAtDeploy = (path: string) => Fn.file(Fn.pathexpand(path));

/**
 * A null_resource (or terraform_data) whose create-time provisioners upload the
 * bundle and run it, and whose destroy-time provisioner runs the destroy script
 * carried in its own triggers (destroy provisioners may only read `self`).
 */
export function createDeployResource(scope: Construct, id: string, spec: DeployResourceSpec): TerraformResource {
  const triggersAttr = spec.kind === "terraform_data" ? "triggers_replace" : "triggers";
  const self = (key: string) => TerraformSelf.getString(`${triggersAttr}.${key}`);
  const c = spec.connection;
  const b = c.bastion;
  const connection = {
    type: "ssh" as const,
    host: self("host"),
    port: Token.asNumber(self("port")),
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
  const triggers = Lazy.anyValue({
    produce: () => {
      const t: Record<string, string> = {
        host: c.host,
        port: String(c.port),
        user: c.user,
        ...(c.hostKey === undefined ? {} : { host_key: c.hostKey }),
        ...spec.triggers(),
      };
      return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, literal(v)]));
    },
  });
  const provisioners = [
    { type: "file" as const, content: Lazy.stringValue({ produce: () => literal(spec.bundle()) }), destination: spec.bundleDestination },
    { type: "remote-exec" as const, inline: ["#!/bin/bash", literal(spec.runCommand)] },
    // `when` is missing from cdktf's remote-exec type; Terraform accepts it.
    { type: "remote-exec" as const, when: "destroy", inline: [self("destroy_script")] } as unknown as {
      type: "remote-exec";
      inline: string[];
    },
  ];
  const common = { connection, provisioners, lifecycle: { createBeforeDestroy: true } };
  if (spec.kind === "terraform_data") {
    return new DataResource(scope, id, { ...common, triggersReplace: triggers });
  }
  ensureNullProvider(scope);
  return new NullResource(scope, id, { ...common, triggers: triggers as unknown as Record<string, string> });
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
