/**
 * The checks rules are made of: each adds a Problem (path, field, message) when a value is
 * not what supervisord, bash or ssh would take.
 */
import type { InstanceModel } from "../model/instance";
import type { ServiceModel } from "../model/service";
import { parseByteSize } from "../model/values";
import { ABSOLUTE_PATH, CONTROL_CHARS } from "../render/syntax";
import { describe, type Problem } from "./problem";

/** A rule of one instance: a pure function of the resolved model. */
export type InstanceRule = (m: InstanceModel) => Problem[];
/** A rule of one program of an instance. */
export type ServiceRule = (s: ServiceModel, m: InstanceModel) => Problem[];

// Names end up in section headers, file names and supervisorctl arguments.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OCTAL_UMASK = /^0?[0-7]{3}$/;
export const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$/;
export const URL = /^https?:\/\/[A-Za-z0-9_@%+=:,./?&~-]+$/;

/** Collects the problems of one model object under one construct path. */
export class Checks {
  readonly problems: Problem[] = [];
  constructor(private readonly where: string) {}

  fail(field: string, message: string): void {
    this.problems.push({ path: this.where, field, message });
  }

  check(ok: boolean, field: string, message: string): void {
    if (!ok) this.fail(field, message);
  }

  name(field: string, value: string, what = "a name"): void {
    this.check(
      NAME.test(value),
      field,
      `${describe(value)} is not ${what} supervisord accepts: use letters, digits, '_', '.', '-' (no whitespace, ':' or '/')`,
    );
  }

  int(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
    this.check(
      Number.isInteger(value) && value >= min && value <= max,
      field,
      `${describe(String(value))} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`,
    );
  }

  absolutePath(field: string, value: string, opts: { allowNone?: boolean } = {}): void {
    if (opts.allowNone && value === "NONE") return;
    if (!ABSOLUTE_PATH.test(value)) {
      this.fail(
        field,
        `${describe(value)} must be an absolute path of letters, digits and _@+=:,./- (no spaces, quotes, '$', '%' or control characters)`,
      );
    } else if (value.split("/").some((s) => s === "..")) {
      this.fail(field, `${describe(value)} must not contain '..'`);
    }
  }

  byteSize(field: string, value: string | number): void {
    this.check(
      parseByteSize(value) !== undefined,
      field,
      `${describe(String(value))} is not a byte size (an integer, optionally with KB, MB or GB)`,
    );
  }

  umask(field: string, value: string | undefined): void {
    if (value !== undefined) this.check(OCTAL_UMASK.test(value), field, `${describe(value)} is not an octal umask like 022`);
  }

  envKeys(field: string, env: Readonly<Record<string, string>>): void {
    for (const k of Object.keys(env)) {
      // bash gives `_` the path of the command it execs: a value set for it never arrives.
      this.check(
        ENV_KEY.test(k) && k !== "_",
        `${field}.${k}`,
        `${describe(k)} is not a valid environment variable name (letters, digits, _; not _ alone)`,
      );
    }
  }

  /** One config value: no control character, and no ' ;' / ' #' that would start a comment. */
  text(field: string, value: string, what: string): void {
    this.check(!CONTROL_CHARS.test(value), field, `${what} must not contain control characters (newline, NUL...)`);
    this.check(
      !/\s[;#]/.test(value),
      field,
      `${what} must not contain whitespace followed by ';' or '#': supervisord would cut the value there`,
    );
  }
}
