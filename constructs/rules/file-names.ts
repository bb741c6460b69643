import { expand, processExpansions } from "../render/syntax";
import { Checks, type InstanceRule } from "./checks";

// Linux: NAME_MAX and PATH_MAX, in bytes.
const NAME_MAX = 255;
const PATH_MAX = 4095;

/** Every file the instance makes on the host must have a name the file system allows. */
export const fileNamesRule: InstanceRule = (m) => {
  const problems = [];
  const check = (c: Checks, field: string, file: string) => {
    const bytes = (s: string) => Buffer.byteLength(s, "utf8");
    const base = file.slice(file.lastIndexOf("/") + 1);
    if (bytes(base) > NAME_MAX) {
      c.fail(
        field,
        `makes the file name ${JSON.stringify(`${base.slice(0, 40)}...`)} of ${bytes(base)} bytes: the file system allows ${NAME_MAX}`,
      );
    } else if (bytes(file) > PATH_MAX) {
      c.fail(field, `makes a path of ${bytes(file)} bytes: the file system allows ${PATH_MAX}`);
    }
  };
  const c = new Checks(m.path);
  check(c, "name", m.dir);
  problems.push(...c.problems);
  for (const s of m.services) {
    const sc = new Checks(s.path);
    if (s.useWrapper) check(sc, "name", s.wrapperFile);
    for (const [field, file] of [
      ["stdoutLogfile", s.stdoutLogfile],
      ["stderrLogfile", s.stderrLogfile],
    ] as const) {
      if (file === "NONE" || file === "AUTO") continue;
      const before = sc.problems.length;
      for (let i = 0; i < s.numprocs && sc.problems.length === before; i++) {
        const num = s.numprocsStart + i;
        check(sc, field, expand(file, processExpansions(s.name, num, s.numprocs, m.dir)));
      }
    }
    problems.push(...sc.problems);
  }
  return problems;
};
