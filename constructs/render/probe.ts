/**
 * A program's health probe as the host gets it: an entry of state/programs.json (JSON: any value
 * travels exactly, nothing of it is config or shell text) and, for a command probe, its wrapper.
 */
import type { InstanceModel } from "../model/instance";
import type { ServiceModel } from "../model/service";

/** The probe entry of a program in state/programs.json, read by templates/jawsctl/probes.py. */
export type ProbeManifest = (
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "http"; readonly url: string; readonly expectStatus: readonly number[]; readonly bodyMatch?: string }
  /** `wrapper`: absolute path of bin/<name>@probe.sh; `directory`: where it runs (null: the instance directory). */
  | { readonly kind: "command"; readonly wrapper: string; readonly directory: string | null }
) & {
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly successes: number;
  readonly failures: number;
};

/**
 * The probe wrapper's file, relative to the instance directory. `@` is in no program name, so it
 * never meets a program's own wrapper; it ends in `.sh`, so the deploy installs, keeps for a
 * rollback and removes it like the program wrappers.
 */
export const probeWrapperPath = (name: string) => `bin/${name}@probe.sh`;

export function probeManifest(m: InstanceModel, s: ServiceModel): ProbeManifest | undefined {
  const p = s.probe;
  if (p === undefined) return undefined;
  const timing = { intervalSeconds: p.intervalSeconds, timeoutSeconds: p.timeoutSeconds, successes: p.successes, failures: p.failures };
  const k = p.check;
  if (k.kind === "command") {
    return { kind: "command", wrapper: `${m.dir}/${probeWrapperPath(s.name)}`, directory: s.directory ?? null, ...timing };
  }
  return { ...k, ...timing };
}

/** The service as its probe wrapper renders it: the program's environment, the probe's argv. */
export function probeService(s: ServiceModel): ServiceModel | undefined {
  return s.probe?.check.kind === "command" ? { ...s, argv: s.probe.check.argv } : undefined;
}

/** The declared probe as one readable line (a trigger of the deploy: `cdktf diff` shows a probe change). */
export function probeDescription(s: ServiceModel): string | undefined {
  const p = s.probe;
  if (p === undefined) return undefined;
  const { check, intervalSeconds, timeoutSeconds, successes, failures } = p;
  return JSON.stringify({ ...check, intervalSeconds, timeoutSeconds, successes, failures });
}
