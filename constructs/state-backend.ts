/**
 * Where a stack keeps its Terraform state. Plain data: credentials are never
 * part of it (GitLab: TF_HTTP_USERNAME/TF_HTTP_PASSWORD; pg: PG_CONN_STR), so
 * they never reach the synthesized JSON.
 */
export type StateBackend =
  /** A file, relative to the project root. */
  | { readonly kind: "local"; readonly path: string }
  /** GitLab-managed Terraform state of a project (the `http` backend, with locking). */
  | { readonly kind: "gitlab"; readonly apiUrl: string; readonly projectId: string; readonly stateName: string }
  /** PostgreSQL (the `pg` backend, locking with advisory locks); connection from PG_CONN_STR. */
  | { readonly kind: "pg"; readonly schemaName: string };

export type StateBackendKind = StateBackend["kind"];

/** GitLab's state endpoint of a project and state name. */
export function gitlabStateAddress(apiUrl: string, projectId: string, stateName: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/projects/${encodeURIComponent(projectId)}/terraform/state/${encodeURIComponent(stateName)}`;
}

/** One state per stack and deployment, whatever the backend: dev can never touch prod's state. */
export function stateBackendFor(kind: StateBackendKind, stack: string, deployment: string, env: NodeJS.ProcessEnv): StateBackend {
  switch (kind) {
    case "local":
      return { kind, path: `state/${deployment}/terraform.${stack}.tfstate` };
    case "gitlab": {
      const apiUrl = env.JAWS_GITLAB_API_URL ?? env.CI_API_V4_URL;
      const projectId = env.JAWS_GITLAB_PROJECT_ID ?? env.CI_PROJECT_ID;
      if (!apiUrl || !projectId) {
        throw new Error(
          "the gitlab state backend needs JAWS_GITLAB_API_URL and JAWS_GITLAB_PROJECT_ID (GitLab CI sets CI_API_V4_URL and CI_PROJECT_ID)",
        );
      }
      return { kind, apiUrl, projectId, stateName: `${stack}-${deployment}` };
    }
    case "pg":
      return { kind, schemaName: `jaws_deploy_${stack}_${deployment}`.replace(/[^A-Za-z0-9_]/g, "_") };
    default:
      throw new Error(`unknown state backend ${JSON.stringify(kind)} (local, gitlab or pg)`);
  }
}
