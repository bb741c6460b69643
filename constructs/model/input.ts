/**
 * What the model does to raw props before any rule: one spelling per path, and the values that
 * cannot be known at synth found (each becomes a problem with the prop's own field name).
 */
import type { Problem } from "../rules/problem";

/**
 * `//` and `/./` collapsed, no trailing `/`: one spelling per path, so rules and host conflicts
 * compare what the file system would (`/srv//a` is `/srv/a`). `..` is kept: the rules refuse it.
 */
export function normalisePath(p: string): string;
export function normalisePath(p: string | undefined): string | undefined;
export function normalisePath(p: string | undefined): string | undefined {
  if (p === undefined || !p.startsWith("/")) return p;
  return `/${p
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/")}`;
}

// cdktf's token markers (`${TfToken[TOKEN.1]}` for strings, `#{TfToken[...]}` for lists).
const TOKEN = /[$#]\{TfToken\[/;

/**
 * Fields of raw props whose text is (or looks like) a cdktf token: cdktf would resolve it, so
 * what lands would not be what was declared. Field names as the user wrote them: `command[1]`,
 * `environment.X`.
 */
export function tokenProblems(props: object, path: string): Problem[] {
  const problems: Problem[] = [];
  const walk = (value: unknown, field: string): void => {
    if (typeof value === "string") {
      if (TOKEN.test(value)) {
        problems.push({
          path,
          field,
          message: "holds a cdktf token (or text that looks like one): values must be plain text known at synth, which lands as written",
        });
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        walk(v, `${field}[${i}]`);
      });
    } else if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
      for (const [k, v] of Object.entries(value)) {
        walk(k, field ? `${field}.${k}` : k);
        walk(v, field ? `${field}.${k}` : k);
      }
    }
  };
  walk(props, "");
  return problems;
}
