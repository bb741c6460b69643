import type { HealthCheck } from "../health-check";

/** A resolved probe: defaults applied, not validated (rules/health-check.ts does that). */
export type ProbeCheck =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "http"; readonly url: string; readonly expectStatus: readonly number[]; readonly bodyMatch?: string }
  | { readonly kind: "command"; readonly argv: readonly string[] };

export interface ProbeModel {
  readonly check: ProbeCheck;
  /** Which of tcp/http/command were given (exactly one is valid). */
  readonly kindsGiven: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly successes: number;
  readonly failures: number;
}

/** Applies the defaults of a `healthCheck` prop. */
export function resolveProbe(h: HealthCheck | undefined): ProbeModel | undefined {
  if (h === undefined) return undefined;
  const raw = h as Partial<Record<"tcp" | "host" | "http" | "expectStatus" | "bodyMatch" | "command", unknown>>;
  const kindsGiven = (["tcp", "http", "command"] as const).filter((k) => raw[k] !== undefined);
  let check: ProbeCheck;
  if (raw.http !== undefined) {
    const s = raw.expectStatus;
    check = {
      kind: "http",
      url: String(raw.http),
      expectStatus: s === undefined ? [] : Array.isArray(s) ? [...s] : [s as number],
      ...(raw.bodyMatch === undefined ? {} : { bodyMatch: String(raw.bodyMatch) }),
    };
  } else if (raw.command !== undefined) {
    check = { kind: "command", argv: Array.isArray(raw.command) ? [...raw.command] : [String(raw.command)] };
  } else {
    check = { kind: "tcp", host: raw.host === undefined ? "127.0.0.1" : String(raw.host), port: raw.tcp as number };
  }
  return {
    check,
    kindsGiven,
    intervalSeconds: h.intervalSeconds ?? 5,
    timeoutSeconds: h.timeoutSeconds ?? 3,
    successes: h.successes ?? 1,
    failures: h.failures ?? 3,
  };
}
