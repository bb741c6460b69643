/**
 * Every escaping rule of the library lives here, so that each target
 * (supervisord's config parser, bash, Terraform's template syntax) is handled
 * in exactly one place and tested once.
 */

import { expansionsIn, SAFE_CHAR, SAFE_WORD, WHITESPACE } from "./syntax";

/** `%` -> `%%`: for values that supervisord must read literally. */
export function escapePercent(value: string): string {
  return value.replace(/%/g, "%%");
}

/** `%` -> `%%` except in supervisord's own expansions (`%(process_num)02d`, `%(here)s`...). */
export function escapePercentKeepExpansions(value: string): string {
  let out = "";
  let last = 0;
  for (const e of expansionsIn(value)) {
    out += escapePercent(value.slice(last, e.index)) + e.text;
    last = e.index + e.text.length;
  }
  return out + escapePercent(value.slice(last));
}

/**
 * Quotes one argument for supervisord's `command=` (split with Python's POSIX shlex after `%`
 * formatting). The argument is always literal: `%` is doubled later (escapePercent), `(` is
 * backslash-escaped, so no `%(...)` text survives for supervisord to expand (with an
 * `[include]`, it replaces `%(here)s` textually before anything else). Other unsafe characters
 * are backslash-escaped one by one, so no `;` or `#` ever follows whitespace (the config
 * parser would take it for a comment); whitespace is single-quoted, because the config reader
 * strips a trailing space together with its backslash.
 */
export function quoteSupervisorArg(arg: string): string {
  if (arg === "") return "''";
  if (SAFE_WORD.test(arg)) return arg;
  let out = "";
  for (const ch of arg) {
    if (SAFE_CHAR.test(ch)) out += ch;
    else if (WHITESPACE.test(ch)) out += `'${ch}'`;
    else out += `\\${ch}`;
  }
  return out;
}

/** Renders an argv as a supervisord `command=` value (before `%` escaping). */
export function supervisorCommandLine(argv: readonly string[]): string {
  return argv.map(quoteSupervisorArg).join(" ");
}

/** Single-quotes a word for bash: the result is always exactly one literal word. */
export function shellQuote(value: string): string {
  if (value !== "" && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Renders supervisord's `environment=` value: every value double-quoted, `%`
 * doubled (quadrupled for [supervisord], whose environment 4.2 expands twice). Values with quotes, backslashes or control characters must have
 * been rejected by validation (supervisord 4.2 mangles them).
 */
export function supervisorEnvironment(env: Readonly<Record<string, string>>, percentPasses = 1): string {
  const quoteValue = (v: string) => (percentPasses === 2 ? escapePercent(escapePercent(v)) : escapePercent(v));
  return Object.keys(env)
    .sort()
    .map((k) => `${k}="${quoteValue(env[k])}"`)
    .join(",");
}

/**
 * Escapes Terraform's template sequences so that text reaches the host
 * literally: `${` -> `$${` and `%{` -> `%%{`. cdktf does not do this itself.
 */
export function escapeTerraformTemplate(value: string): string {
  // Replacement functions, because "$$" in a replacement string means "$".
  return value.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/**
 * A heredoc delimiter that does not occur as a line of the content, so the
 * content is written byte for byte by `cat <<'DELIM'`.
 */
export function heredocDelimiter(content: string, base = "JAWS_DEPLOY_EOF"): string {
  const lines = new Set(content.split("\n"));
  let delim = base;
  for (let i = 1; lines.has(delim); i++) delim = `${base}_${i}`;
  return delim;
}

/**
 * Splits a command line the way supervisord does (Python `shlex.split`, POSIX
 * mode, no comments), so a string command and an argv mean the same thing.
 * Returns undefined for an unterminated quote or a trailing backslash.
 */
export function shlexSplit(line: string): string[] | undefined {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    // Python shlex (POSIX mode) splits on these four only: a no-break space is part of a word.
    if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
      i++;
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const c = line[i];
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === "\\" && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === "\\")) {
          cur += line[i + 1];
          i += 2;
        } else {
          cur += c;
          i++;
        }
      }
      if (!closed) return undefined;
      inWord = true;
    } else if (ch === "\\") {
      if (i + 1 >= line.length) return undefined;
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      cur += ch;
      inWord = true;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
