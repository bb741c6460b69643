/**
 * Value types that supervisord understands, typed so that a wrong value is a
 * compile error where possible and a synth-time error otherwise.
 */

/** A signal supervisord accepts by name (with or without the SIG prefix). */
export type SignalName = "TERM" | "HUP" | "INT" | "QUIT" | "KILL" | "USR1" | "USR2";

/** `autorestart`: always, never, or only when the exit code is not in `exitcodes`. */
export type AutoRestart = boolean | "unexpected";

/** A byte size as supervisord writes it: `1024`, `50KB`, `50MB`, `1GB` (1024-based). */
export type ByteSize = number | `${number}${"KB" | "MB" | "GB"}`;

/** supervisord's log levels. */
export type LogLevel = "critical" | "error" | "warn" | "info" | "debug" | "trace" | "blather";

/** Which Terraform resource carries the deploy. */
export type DeployResourceKind = "null_resource" | "terraform_data";

/** The three deployments JAWS runs side by side on one host. */
export type Deployment = "dev" | "staging" | "prod";

export const SIGNAL_NAMES: readonly SignalName[] = ["TERM", "HUP", "INT", "QUIT", "KILL", "USR1", "USR2"];
export const LOG_LEVELS: readonly LogLevel[] = ["critical", "error", "warn", "info", "debug", "trace", "blather"];
export const DEPLOYMENTS: readonly Deployment[] = ["dev", "staging", "prod"];

const BYTE_SIZE = /^(\d+)(KB|MB|GB)?$/;
const UNIT: Record<string, number> = { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** Parses a byte size to bytes, or undefined when supervisord would reject it. */
export function parseByteSize(value: ByteSize | string): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  const m = BYTE_SIZE.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] ? UNIT[m[2]] : 1);
}

/** Normalises a signal given as name, SIG-name or number to what the config will say. */
export function normaliseSignal(value: string | number): string | undefined {
  if (typeof value === "number") {
    // supervisord accepts only numbers of named signals; 1-31 are named everywhere.
    return Number.isInteger(value) && value >= 1 && value <= 31 ? String(value) : undefined;
  }
  const name = value.trim().toUpperCase().replace(/^SIG/, "");
  return (SIGNAL_NAMES as readonly string[]).includes(name) ? name : undefined;
}

export function renderBoolean(value: boolean): string {
  return value ? "true" : "false";
}

export function renderAutoRestart(value: AutoRestart): string {
  return value === "unexpected" ? "unexpected" : renderBoolean(value);
}

export function renderByteSize(value: ByteSize): string {
  return String(value);
}
