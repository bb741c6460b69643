import type { Construct } from "constructs";
import {
  createStack,
  type DeployResourceKind,
  type GitlabProject,
  JawsService,
  type StateBackendKind,
  SupervisorInstance,
  stateBackendFor,
} from "../constructs";
import { type DeploymentContext, hostVariable, knownHostKey, notDeployable, type SiteDefinition } from "./site";

/** Deploy-time choices that are not part of a site: which deployment, which key, which state. */
export interface StackSelection {
  readonly deployment: string;
  /** @default - ssh-agent */
  readonly privateKeyFile?: string;
  /** @default - none */
  readonly certificateFile?: string;
  /** @default null_resource */
  readonly deployResource?: DeployResourceKind;
  /** Forces a deploy of every instance (see SupervisorInstanceProps.redeployToken). @default - none */
  readonly redeployToken?: string;
  /**
   * Where state lives; one state per stack and deployment.
   * @default local (state/<deployment>/terraform.<stack>.tfstate)
   */
  readonly stateBackend?: StateBackendKind;
  /** The GitLab project of the gitlab state backend. @default - none (required for gitlab) */
  readonly gitlab?: GitlabProject;
  /** Pinned host keys by site name; win over the site's own. @default - none */
  readonly hostKeys?: Readonly<Record<string, string>>;
  /** Service hosts by site name; win over the site's own. @default - none */
  readonly hosts?: Readonly<Record<string, string>>;
}

/**
 * The one stack builder (the app, the e2e tests and the bench use it): one stack per instance
 * of the site, named `<instance>-<site>` (`jaws-cori`, `jtm-cori`), each with its own state per
 * deployment, so deploying dev can never touch prod's state.
 */
export function addSiteStacks(app: Construct, site: SiteDefinition, sel: StackSelection): SupervisorInstance[] {
  const refused = notDeployable(site);
  if (refused) throw new Error(refused);
  const settings = site.deployments[sel.deployment];
  if (!settings) {
    throw new Error(
      `site ${site.name}: unknown deployment ${JSON.stringify(sel.deployment)} (known: ${Object.keys(site.deployments).join(", ")})`,
    );
  }
  const host = sel.hosts?.[site.name] ?? site.host;
  if (!host) {
    throw new Error(
      `site ${site.name}: its service host is not known: name it in ${hostVariable(site.name)} (the host its supervisord runs on)`,
    );
  }
  const hostKey = sel.hostKeys?.[site.name] ?? site.hostKey ?? knownHostKey(host);
  const context: DeploymentContext = { site: site.name, deployment: sel.deployment, settings };
  return site.instances.map((inst) => {
    const stackId = `${inst.name}-${site.name}`;
    const stack = createStack(app, stackId, stateBackendFor(sel.stateBackend ?? "local", stackId, sel.deployment, sel.gitlab));
    const instance = new SupervisorInstance(stack, "supervisor", {
      name: inst.name,
      deployment: sel.deployment,
      host,
      port: site.port,
      user: inst.user,
      hostKey,
      baseDirectory: typeof inst.baseDirectory === "function" ? inst.baseDirectory(context) : inst.baseDirectory,
      pythonCommand: site.pythonCommand,
      shellPreamble: site.shellPreamble,
      inetPort: inst.control === "inet" ? settings.supervisordPorts[inst.name] : undefined,
      privateKeyFile: sel.privateKeyFile,
      certificateFile: sel.certificateFile,
      deployResource: sel.deployResource,
      redeployToken: sel.redeployToken,
      ...inst.props?.(context),
      ...inst.options,
    });
    const services = inst.services(context);
    for (const [name, options] of Object.entries(services)) {
      new JawsService(stack, name, { instance, ...options });
    }
    return instance;
  });
}
