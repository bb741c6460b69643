import type { Construct } from "constructs";
import {
  ConfigFile,
  createStack,
  type DeployResourceKind,
  type GitlabProject,
  JawsService,
  PythonRelease,
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
    const releases = Object.entries(inst.releases?.(context) ?? {}).map(([id, p]) => [id, new PythonRelease(instance, id, p)] as const);
    const files = Object.entries(inst.configFiles?.(context) ?? {}).map(([id, p]) => [id, new ConfigFile(instance, id, p)] as const);
    const byId = <T>(list: readonly (readonly [string, T])[], id: string, what: string, program: string): T => {
      const found = list.find(([k]) => k === id);
      if (!found) throw new Error(`site ${site.name}, instance ${inst.name}, program ${program}: no ${what} ${JSON.stringify(id)}`);
      return found[1];
    };
    const services = inst.services(context);
    for (const [name, { releaseId, configFileIds, ...options }] of Object.entries(services)) {
      new JawsService(stack, name, {
        instance,
        ...options,
        release: releaseId === undefined ? options.release : byId(releases, releaseId, "release", name),
        configFiles: configFileIds === undefined ? options.configFiles : configFileIds.map((id) => byId(files, id, "config file", name)),
      });
    }
    return instance;
  });
}
