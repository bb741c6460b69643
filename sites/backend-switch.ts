import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Switching deployment in one checkout (`JAWS_DEPLOYMENT=prod npx cdktf diff`, then
 * `JAWS_DEPLOYMENT=dev npx cdktf deploy`) gives the same stack directory
 * (`cdktf.out/stacks/<stack>/`) another backend: `state/dev/...` instead of `state/prod/...`.
 * Terraform remembers the backend a directory was initialised with (`.terraform/terraform.tfstate`)
 * and its `init` then stops with "Backend configuration changed"; the way out cdktf offers,
 * `--migrate-state`, would copy prod's state over dev's.
 *
 * Each deployment has its own state by design, so after synth the remembered backend is forgotten
 * when the new one is of the same type with another configuration: the next `init` starts from the
 * deployment's own state and never reads the other one. A change of backend type (local -> gitlab)
 * is left to Terraform, which offers a migration.
 *
 * Returns the stacks whose remembered backend was forgotten, with the old and new configuration.
 */
export function forgetSwitchedBackends(outdir: string): { stack: string; from: string; to: string }[] {
  const stacksDir = join(outdir, "stacks");
  if (!existsSync(stacksDir)) return [];
  const forgotten: { stack: string; from: string; to: string }[] = [];
  for (const stack of readdirSync(stacksDir)) {
    const remembered = join(stacksDir, stack, ".terraform", "terraform.tfstate");
    const synthesized = join(stacksDir, stack, "cdk.tf.json");
    if (!existsSync(remembered) || !existsSync(synthesized)) continue;
    let old: { type?: string; config?: Record<string, unknown> } | undefined;
    let next: Record<string, Record<string, unknown>> | undefined;
    try {
      old = JSON.parse(readFileSync(remembered, "utf8")).backend;
      next = JSON.parse(readFileSync(synthesized, "utf8")).terraform?.backend;
    } catch {
      continue;
    }
    if (!old?.type || !old.config || !next) continue;
    const [type, config] = Object.entries(next)[0] ?? [];
    if (type !== old.type || !config) continue;
    // Only what the JSON sets: values Terraform takes from the environment (PG_CONN_STR) are not in it.
    const differs = Object.entries(config).filter(([k, v]) => JSON.stringify(old.config?.[k] ?? null) !== JSON.stringify(v ?? null));
    if (differs.length === 0) continue;
    rmSync(remembered, { force: true });
    forgotten.push({
      stack,
      from: differs.map(([k]) => `${k}=${JSON.stringify(old.config?.[k])}`).join(" "),
      to: differs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" "),
    });
  }
  return forgotten;
}
