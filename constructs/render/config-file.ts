/**
 * A config file's text at synth: the template rendered with the plain values, each written as
 * the file's format requires, and each secret as a placeholder the host fills in (jawsctl
 * config_files.py applies the same format rules to the secret values).
 */
import Handlebars from "handlebars";
import type { ConfigFormat } from "../config-file";
import type { ConfigFileModel } from "../model/config-file";
import { describe, type Problem } from "../rules/problem";
import { shellQuote } from "./escape";
import { CONTROL_CHARS } from "./syntax";

/** Starts every placeholder; no template or plain value may contain it. */
export const PLACEHOLDER_MARK = "@@JAWS_SECRET(";
export const secretPlaceholder = (name: string): string => `${PLACEHOLDER_MARK}${name})@@`;

// Python's str.isspace() characters at either end: configparser strips them from a value.
const EDGE_SPACE = /^[\s\u0085\u001c-\u001f]|[\s\u0085\u001c-\u001f]$/;
// os.path.expandvars (JAWS's reader applies it after configparser's interpolation) expands these.
const EXPANDABLE = /\$(\{|[A-Za-z0-9_])/;

/** A value as written into a file of `format`, or why it cannot be written without changing its meaning. */
export function escapeConfigValue(format: ConfigFormat, value: string): { text: string } | { error: string } {
  switch (format) {
    case "ini":
      if (CONTROL_CHARS.test(value)) return { error: "contains a control character (newline...): an INI value is one line" };
      if (EDGE_SPACE.test(value)) return { error: "starts or ends with whitespace, which configparser strips" };
      if (EXPANDABLE.test(value)) return { error: "contains $name or ${: JAWS's config reader would expand it as an environment variable" };
      return { text: value.replaceAll("%", "%%") };
    case "env":
      if (value.includes("\0")) return { error: "contains NUL" };
      return { text: shellQuote(value) };
    case "text":
      return { text: value };
  }
}

const hbs = Handlebars.create();

/** The text of a config file with secret placeholders, or the problems that keep it from rendering. */
export function renderConfigFile(f: ConfigFileModel): { text: string; problems: Problem[] } {
  const problems: Problem[] = [];
  const context: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(f.values)) {
    if (value.includes(PLACEHOLDER_MARK))
      problems.push({ path: f.path, field: `values.${name}`, message: `must not contain ${PLACEHOLDER_MARK}` });
    const e = escapeConfigValue(f.format, value);
    if ("error" in e) problems.push({ path: f.path, field: `values.${name}`, message: `${describe(value)} ${e.error}` });
    else context[name] = e.text;
  }
  context.secret = Object.fromEntries(Object.keys(f.secrets).map((n) => [n, secretPlaceholder(n)]));
  if (f.template.includes(PLACEHOLDER_MARK))
    problems.push({ path: f.path, field: "template", message: `must not contain ${PLACEHOLDER_MARK}` });
  if (problems.length > 0) return { text: "", problems };
  try {
    const text = hbs.compile(f.template, { noEscape: true, strict: true })(context);
    return { text, problems };
  } catch (e) {
    const message = (e as Error).message.split("\n")[0];
    return {
      text: "",
      problems: [
        { path: f.path, field: "template", message: `does not render: ${message} (plain values: {{name}}, secrets: {{secret.name}})` },
      ],
    };
  }
}
