import type { Construct } from "constructs";
import { JawsService, SupervisorInstance, type SupervisorInstanceOptions } from "../constructs";
import { type StateBackendKind, stateBackendFor } from "../constructs/state-backend";
import { createStack } from "../constructs/terraform";
import { knownHostKey, type SiteDefinition } from "./site";

/** Deploy-time choices that are not part of a site: which deployment, which key. */
export interface StackSelection {
  readonly deployment: string;
  /** @default - ssh-agent */
  readonly privateKeyFile?: string;
  /** @default - none */
  readonly certificateFile?: string;
  /** @default null_resource */
  readonly deployResource?: SupervisorInstanceOptions["deployResource"];
  /** Forces a deploy of every instance (see SupervisorInstanceOptions.redeployToken). @default - none */
  readonly redeployToken?: string;
  /**
   * Where state lives; one state per stack and deployment.
   * @default local (state/<deployment>/terraform.<stack>.tfstate)
   */
  readonly stateBackend?: StateBackendKind;
  /** Environment read for backend settings and host keys. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Overrides applied to every instance (tests point the stacks at another host). */
  readonly overrides?: Partial<SupervisorInstanceOptions>;
}

/** The choices every entry point takes from the environment: SSH key and certificate files, overrides. */
export function connectionFromEnv(env: NodeJS.ProcessEnv): Pick<StackSelection, "privateKeyFile" | "certificateFile" | "overrides"> {
  return {
    privateKeyFile: env.JAWS_SSH_KEY_FILE || undefined,
    certificateFile: env.JAWS_SSH_CERT_FILE || undefined,
    overrides: env.JAWS_OVERRIDES ? JSON.parse(env.JAWS_OVERRIDES) : undefined,
  };
}

/**
 * One stack per instance of the site, named `<instance>-<site>` (`jaws-cori`,
 * `jtm-cori`), each with its own state file under `state/<deployment>/`, so
 * deploying dev can never touch prod's state.
 */
export function addSiteStacks(app: Construct, site: SiteDefinition, sel: StackSelection): SupervisorInstance[] {
  const settings = site.deployments[sel.deployment];
  if (!settings) {
    throw new Error(
      `site ${site.name}: unknown deployment ${JSON.stringify(sel.deployment)} (known: ${Object.keys(site.deployments).join(", ")})`,
    );
  }
  const env = sel.env ?? process.env;
  const hostKey = knownHostKey(site.host, site.name, env);
  return site.instances.map((inst) => {
    const stackId = `${inst.name}-${site.name}`;
    const stack = createStack(app, stackId, stateBackendFor(sel.stateBackend ?? "local", stackId, sel.deployment, env));
    const instance = new SupervisorInstance(stack, "supervisor", {
      name: inst.name,
      deployment: sel.deployment,
      host: site.host,
      port: site.port,
      user: inst.user,
      hostKey,
      baseDirectory: inst.baseDirectory,
      pythonCommand: site.pythonCommand,
      shellPreamble: site.shellPreamble,
      inetPort: inst.control === "inet" ? settings.supervisordPorts[inst.name] : undefined,
      privateKeyFile: sel.privateKeyFile,
      certificateFile: sel.certificateFile,
      deployResource: sel.deployResource,
      redeployToken: sel.redeployToken,
      ...inst.options,
      ...sel.overrides,
    });
    const services = inst.services({ site: site.name, deployment: sel.deployment, settings });
    for (const [name, options] of Object.entries(services)) {
      new JawsService(stack, name, { instance, ...options });
    }
    return instance;
  });
}
