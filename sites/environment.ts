/**
 * The app's settings from the environment: the only place that reads `JAWS_*` (and GitLab's CI
 * variables). The library takes values; CI sets these per job.
 *
 *   JAWS_SITES            sites to synthesize: cori,jgi,... or all (every  (default: cori)
 *                         supervisor- or Slurm-launched site)
 *   JAWS_SITES_MODULE     module exporting more SiteDefinitions             (default: none)
 *   JAWS_DEPLOYMENT       dev | staging | prod | a deployment of the site  (default: dev)
 *   JAWS_SSH_KEY_FILE     path of the SSH private key                       (default: ssh-agent)
 *   JAWS_SSH_CERT_FILE    path of its SSH certificate                       (default: none)
 *   JAWS_DEPLOY_RESOURCE  null_resource | terraform_data                    (default: null_resource)
 *   JAWS_STATE_BACKEND    local | gitlab | pg                               (default: local)
 *   JAWS_GITLAB_API_URL, JAWS_GITLAB_PROJECT_ID   gitlab backend            (default: CI_API_V4_URL, CI_PROJECT_ID)
 *   JAWS_HOST_KEY_<SITE>  pinned host key of a site, over sites/known_hosts
 *   JAWS_HOST_<SITE>      service host of a site, over the site's own (required where it has none)
 *   JAWS_REDEPLOY         any new value re-runs the deploy though nothing changed
 */
import { resolve } from "node:path";
import { type DeployResourceKind, STATE_BACKEND_KINDS, type StateBackendKind } from "../constructs";
import { loadSiteModule, selectSites } from "./index";
import { hostKeyVariable, hostVariable, knownHostKey, notDeployable, type SiteDefinition } from "./site";
import type { StackSelection } from "./stacks";

export interface AppEnvironment {
  readonly sites: readonly SiteDefinition[];
  readonly selection: StackSelection;
}

/** Every bad variable at once, each named with what it accepts. */
export class EnvironmentError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`jaws-deploy: bad environment:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "EnvironmentError";
  }
}

const DEPLOY_RESOURCES: readonly DeployResourceKind[] = ["null_resource", "terraform_data"];

export { hostKeyVariable, hostVariable };

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): AppEnvironment {
  const problems: string[] = [];
  const value = (name: string) => env[name]?.trim() || undefined;
  function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = value(name) ?? fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    problems.push(`${name}=${JSON.stringify(v)}: must be one of ${allowed.join(", ")}`);
    return fallback;
  }

  let sites: SiteDefinition[] = [];
  try {
    const module = value("JAWS_SITES_MODULE");
    sites = selectSites(value("JAWS_SITES") ?? "cori", module ? loadSiteModule(resolve(module)) : {});
  } catch (e) {
    problems.push(`JAWS_SITES / JAWS_SITES_MODULE: ${(e as Error).message}`);
  }
  const deployment = value("JAWS_DEPLOYMENT") ?? "dev";
  for (const site of sites) {
    if (!site.deployments[deployment]) {
      problems.push(`JAWS_DEPLOYMENT=${JSON.stringify(deployment)}: site ${site.name} has ${Object.keys(site.deployments).join(", ")}`);
    }
  }
  const stateBackend: StateBackendKind = oneOf("JAWS_STATE_BACKEND", STATE_BACKEND_KINDS, "local");
  const apiUrl = value("JAWS_GITLAB_API_URL") ?? value("CI_API_V4_URL");
  const projectId = value("JAWS_GITLAB_PROJECT_ID") ?? value("CI_PROJECT_ID");
  if (stateBackend === "gitlab" && (!apiUrl || !projectId)) {
    problems.push(
      "JAWS_STATE_BACKEND=gitlab needs JAWS_GITLAB_API_URL and JAWS_GITLAB_PROJECT_ID (GitLab CI sets CI_API_V4_URL and CI_PROJECT_ID)",
    );
  }
  const hostKeys: Record<string, string> = {};
  const hosts: Record<string, string> = {};
  for (const site of sites) {
    const refused = notDeployable(site);
    if (refused) {
      problems.push(`JAWS_SITES: ${refused}`);
      continue;
    }
    const named = value(hostVariable(site.name));
    if (named) hosts[site.name] = named;
    const host = named ?? site.host;
    const key = value(hostKeyVariable(site.name));
    if (key) hostKeys[site.name] = key;
    if (!host) {
      problems.push(
        `${hostVariable(site.name)}: site ${site.name}'s service host is not known: set it to the host its supervisord runs on`,
      );
    } else if (!key && !site.hostKey && !knownHostKey(host)) {
      problems.push(
        `${hostKeyVariable(site.name)}: no pinned host key for ${host} in sites/known_hosts: set it to the key \`ssh-keyscan -t ed25519 ${host}\` prints, after checking its fingerprint`,
      );
    }
  }
  const selection: StackSelection = {
    deployment,
    privateKeyFile: value("JAWS_SSH_KEY_FILE"),
    certificateFile: value("JAWS_SSH_CERT_FILE"),
    deployResource: oneOf("JAWS_DEPLOY_RESOURCE", DEPLOY_RESOURCES, "null_resource"),
    redeployToken: value("JAWS_REDEPLOY"),
    stateBackend,
    gitlab: apiUrl && projectId ? { apiUrl, projectId } : undefined,
    hostKeys,
    hosts,
  };
  if (problems.length > 0) throw new EnvironmentError(problems);
  return { sites, selection };
}
