/**
 * The one place the library reads the environment at synth: the secrets of config files, to
 * compare them with what was deployed without sending them anywhere. A deploy job has the CI
 * variables; for each secret it computes HMAC-SHA256(K, key NUL value), K being the value of one
 * more CI variable (`secretsFingerprintKeyVariable`, JAWS_SECRETS_FINGERPRINT_KEY by default)
 * that is stored nowhere. These keyed fingerprints are the triggers of the instance's secrets
 * resource (in the state and the plan): without K they reveal nothing about a value, not even a
 * short password (an unkeyed hash would be brute-forced). Without K (the diff job, which must not
 * get the secrets) nothing is compared: the resource ignores its triggers, and synth says so.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { type SecretSource, secretKey } from "./model/config-file";
import type { InstanceModel } from "./model/instance";
import type { Problem } from "./rules/problem";

export interface SecretFingerprints {
  /** False when the key variable is not set: the triggers are a constant, not compared. */
  readonly available: boolean;
  /** `secret:<env|file>:<VARIABLE>` -> hex HMAC, or one constant entry when not available. */
  readonly triggers: Readonly<Record<string, string>>;
  /** Secret variables a deploy job lacks (only when the key is set). */
  readonly problems: readonly Problem[];
}

/** The synth warning of a run without the key (a diff job), or undefined. */
export function fingerprintKeyWarning(keyVariable: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[keyVariable]) return undefined;
  return `secrets of config files are not compared: ${keyVariable} is not set (right for a diff job, which must not get the secrets); a deploy job needs it and the secrets' CI variables, or a changed secret is not deployed`;
}

/** Every secret source of the instance, once, with the config files (construct path, name) using it. */
export function secretSources(m: InstanceModel): Map<string, { source: SecretSource; users: { path: string; name: string }[] }> {
  const all = new Map<string, { source: SecretSource; users: { path: string; name: string }[] }>();
  for (const f of m.configFiles) {
    for (const [name, source] of Object.entries(f.secrets)) {
      if (!source) continue;
      const key = secretKey(source);
      const entry = all.get(key) ?? { source, users: [] };
      entry.users.push({ path: f.path, name });
      all.set(key, entry);
    }
  }
  return new Map([...all].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * A secret's value as the deploy sends it: the variable's value, or the content of the file
 * the variable names with one trailing newline dropped (a file variable typed in GitLab's
 * form usually ends with one). undefined when unset, empty or unreadable.
 */
export function secretValue(source: SecretSource, env: NodeJS.ProcessEnv): string | undefined {
  const v = env[source.variable];
  if (!v) return undefined;
  if (source.kind === "env") return v;
  try {
    return readFileSync(v, "utf8").replace(/\n$/, "") || undefined;
  } catch {
    return undefined;
  }
}

export const secretFingerprint = (key: string, source: SecretSource, value: string): string =>
  createHmac("sha256", key)
    .update(`${secretKey(source)}\0${value}`)
    .digest("hex");

/** Reads the key and the secrets of `m` from `env` (process.env by default). */
export function readSecretFingerprints(m: InstanceModel, env: NodeJS.ProcessEnv = process.env): SecretFingerprints {
  const keyVariable = m.secretsFingerprintKeyVariable;
  const key = env[keyVariable];
  const sources = secretSources(m);
  if (!key) {
    return {
      available: false,
      triggers: { secrets: `not compared at synth: ${keyVariable} is not set` },
      problems: [],
    };
  }
  const triggers: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const [k, { source, users }] of sources) {
    const value = secretValue(source, env);
    if (value === undefined) {
      for (const u of users) {
        problems.push({
          path: u.path,
          field: `secrets.${u.name}`,
          message:
            source.kind === "env"
              ? `CI variable ${source.variable} is not set (or empty) in this deploy job: set it (masked); nothing was deployed`
              : `CI file variable ${source.variable} does not name a readable, non-empty file in this deploy job; nothing was deployed`,
        });
      }
    } else {
      triggers[`secret:${k}`] = secretFingerprint(key, source, value);
    }
  }
  return { available: true, triggers, problems };
}
