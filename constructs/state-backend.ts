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
export const STATE_BACKEND_KINDS: readonly StateBackendKind[] = ["local", "gitlab", "pg"];

/** A GitLab project whose managed Terraform state holds the stacks' states. */
export interface GitlabProject {
  /** GitLab's API v4 URL, e.g. `https://gitlab.example.org/api/v4` (CI_API_V4_URL in GitLab CI). */
  readonly apiUrl: string;
  /** The project's id or path (CI_PROJECT_ID in GitLab CI). */
  readonly projectId: string;
}

/** GitLab's state endpoint of a project and state name. */
export function gitlabStateAddress(apiUrl: string, projectId: string, stateName: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/projects/${encodeURIComponent(projectId)}/terraform/state/${encodeURIComponent(stateName)}`;
}

/**
 * One state per stack and deployment, whatever the backend: dev can never touch prod's state.
 * `gitlab` is required for the gitlab backend.
 */
export function stateBackendFor(kind: StateBackendKind, stack: string, deployment: string, gitlab?: GitlabProject): StateBackend {
  switch (kind) {
    case "local":
      return { kind, path: `state/${deployment}/terraform.${stack}.tfstate` };
    case "gitlab":
      if (!gitlab) throw new Error(`stack ${stack}: the gitlab state backend needs the GitLab API URL and project id`);
      return { kind, apiUrl: gitlab.apiUrl, projectId: gitlab.projectId, stateName: `${stack}-${deployment}` };
    case "pg":
      return { kind, schemaName: `jaws_deploy_${stack}_${deployment}`.replace(/[^A-Za-z0-9_]/g, "_") };
    default:
      throw new Error(`unknown state backend ${JSON.stringify(kind)} (${STATE_BACKEND_KINDS.join(", ")})`);
  }
}
