import type { ConfigFileProps, ConfigFormat } from "../config-file";
import type { Problem } from "../rules/problem";
import { normalisePath, tokenProblems } from "./input";

/** Where one secret value comes from on the machine that runs Terraform. */
export interface SecretSource {
  /** `env`: the variable holds the value; `file`: it holds the path of a file holding it (a GitLab file variable). */
  readonly kind: "env" | "file";
  readonly variable: string;
}

/** The key a secret value is stored under on the host (secret/config-values): `env:NAME` or `file:NAME`. */
export const secretKey = (s: SecretSource): string => `${s.kind}:${s.variable}`;

/** A config file with its defaults applied. */
export interface ConfigFileModel {
  readonly path: string;
  /** Absolute path on the host. */
  readonly file: string;
  /** The path as declared (relative to the instance directory, or absolute), for messages and triggers. */
  readonly declaredPath: string;
  readonly template: string;
  readonly values: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, SecretSource | undefined>>;
  readonly format: ConfigFormat;
  readonly mode: string;
  readonly group?: string;
  readonly inputProblems: readonly Problem[];
}

/** Applies the defaults; does not validate (see rules/config-files.ts). */
export function resolveConfigFile(o: ConfigFileProps, instanceDir: string, path: string): ConfigFileModel {
  const file = o.path.startsWith("/") ? normalisePath(o.path) : normalisePath(`${instanceDir}/${o.path}`);
  const secrets: Record<string, SecretSource | undefined> = {};
  for (const [name, s] of Object.entries(o.secrets ?? {})) {
    const env = "envVariable" in s ? s.envVariable : undefined;
    const fileVar = "fileVariable" in s ? s.fileVariable : undefined;
    // Both or neither: the rule names it.
    secrets[name] =
      env !== undefined && fileVar === undefined
        ? { kind: "env", variable: env }
        : fileVar !== undefined && env === undefined
          ? { kind: "file", variable: fileVar }
          : undefined;
  }
  return {
    path,
    file,
    declaredPath: o.path,
    template: o.template,
    values: Object.fromEntries(Object.entries(o.values ?? {}).map(([k, v]) => [k, String(v)])),
    secrets,
    format: o.format ?? "ini",
    mode: o.mode ?? "0600",
    group: o.group,
    inputProblems: tokenProblems(o, path),
  };
}
