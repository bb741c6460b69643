/**
 * The two character-level facts every escape and every rule relies on, written once:
 * which characters are safe unquoted, and what a supervisord `%(...)` expansion looks like.
 */

/**
 * Characters that mean themselves unquoted in bash and in supervisord's `command=` (Python's
 * POSIX shlex). `%` is among them for the shell; supervisord's own `%` handling is separate.
 */
const SAFE_CHARS = "A-Za-z0-9_@%+=:,./-";
export const SAFE_WORD = new RegExp(`^[${SAFE_CHARS}]+$`);
export const SAFE_CHAR = new RegExp(`^[${SAFE_CHARS}]$`);

/** Paths: the safe alphabet without `%`, which supervisord would read as an expansion. */
const PATH_CHARS = "A-Za-z0-9_@+=:,./-";
export const PATH_WORD = new RegExp(`^[${PATH_CHARS}]+$`);
export const ABSOLUTE_PATH = new RegExp(`^/[${PATH_CHARS}]*$`);

/**
 * The `%(name)s` expansions the library keeps, in process names and log file paths only (one
 * decision: commands and environments are always literal). `%(ENV_X)s` is not among them: it
 * would make the config depend on supervisord's environment at parse time, so it stays literal.
 */
const EXPANSION_NAMES = "program_name|group_name|host_node_name|here|process_num|numprocs";

/** Groups: 1 name, 2 flags, 3 width, 4 conversion. */
export const expansionPattern = (): RegExp => new RegExp(`%\\((${EXPANSION_NAMES})\\)([-#0 +]*)(\\d*)([sd])`, "g");

/** The expansions in a value, with the name each one reads. */
export function expansionsIn(value: string): { readonly text: string; readonly name: string; readonly index: number }[] {
  return [...value.matchAll(expansionPattern())].map((m) => ({ text: m[0], name: m[1], index: m.index ?? 0 }));
}

/** True when the value uses one of supervisord's `%(...)` expansions (of `name`, when given). */
export function hasExpansion(value: string, name?: string | RegExp): boolean {
  return expansionsIn(value).some((e) => name === undefined || (typeof name === "string" ? e.name === name : name.test(e.name)));
}

/** The value with every expansion replaced by `x`: what is left must pass the plain rules. */
export const withoutExpansions = (value: string): string => value.replace(expansionPattern(), "x");

/**
 * Whitespace to Python's `str.isspace()` or JavaScript's `\s`: the config reader strips it from
 * both ends of a value, so an argument never ends in it unquoted.
 */
export const WHITESPACE = /[\s\u0085]/;

/**
 * A value with supervisord's `%` formatting applied the way supervisord does it for the names a
 * program section knows (`%(program_name)s`, `%(process_num)02d`...); `%%` gives `%`.
 */
export function expand(value: string, names: Readonly<Record<string, string | number>>): string {
  return value.replace(/%(?:%|\(([a-z_]+)\)([-#0 +]*)(\d*)([sd]))/g, (all, key, flags, width, conv) => {
    if (all === "%%") return "%";
    const raw = names[key];
    if (raw === undefined) return all;
    let text = conv === "d" ? String(Math.trunc(Number(raw))) : String(raw);
    const w = Number(width || 0);
    if (text.length < w) text = flags.includes("-") ? text.padEnd(w) : text.padStart(w, flags.includes("0") && conv === "d" ? "0" : " ");
    return text;
  });
}

/** The names supervisord expands in one process of a program (`group_name` is the program's own). */
export function processExpansions(program: string, processNum: number, numprocs: number, here: string): Record<string, string | number> {
  return { program_name: program, group_name: program, process_num: processNum, numprocs, here, host_node_name: "" };
}

/** Control characters but tab: no config line or shell word can carry them. */
export const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]/;
