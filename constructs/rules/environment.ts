import { CONTROL_CHARS } from "../render/syntax";
import type { Checks } from "./checks";

/**
 * supervisord's `environment=`: 4.2 splits values with legacy shlex and strips quotes, so only a
 * subset passes exactly (used by [supervisord] and by programs without the wrapper).
 */
export function supervisordEnvironment(c: Checks, field: string, env: Readonly<Record<string, string>>): void {
  c.envKeys(field, env);
  for (const [k, v] of Object.entries(env)) {
    if (/["'\\]/.test(v) || CONTROL_CHARS.test(v) || v.includes("\t") || /\s[;#]/.test(v)) {
      c.fail(
        `${field}.${k}`,
        "quotes, backslashes, control characters and ' ;'/' #' cannot pass through supervisord's environment= (4.2 mangles or cuts them); use the service's wrapper (useWrapper) instead",
      );
    } else if (v.includes("%(here)s")) {
      c.fail(
        `${field}.${k}`,
        "the text %(here)s cannot pass through supervisord's environment= (with an [include] supervisord replaces it before anything else); use the service's wrapper (useWrapper) instead",
      );
    }
  }
}

/** The wrapper exports values single-quoted: anything but NUL and newline is exact. */
export function wrapperEnvironment(c: Checks, field: string, env: Readonly<Record<string, string>>): void {
  c.envKeys(field, env);
  for (const [k, v] of Object.entries(env)) {
    c.check(!CONTROL_CHARS.test(v), `${field}.${k}`, "a control character (newline, NUL...) cannot be exported safely");
  }
}
