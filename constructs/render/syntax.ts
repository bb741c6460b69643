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

/** Names supervisord expands in `%(name)s` (program sections; `ENV_X` everywhere). */
const EXPANSION_NAMES = "program_name|group_name|host_node_name|here|process_num|numprocs|ENV_[A-Za-z_][A-Za-z0-9_]*";

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

/** Control characters but tab: no config line or shell word can carry them. */
export const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]/;
