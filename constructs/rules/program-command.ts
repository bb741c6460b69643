import { CONTROL_CHARS } from "../render/syntax";
import { Checks, type ServiceRule } from "./checks";

/** `[program:x]` name and `command=`. */
export const programCommandRule: ServiceRule = (s, m) => {
  const c = new Checks(s.path);
  c.name("name", s.name, "a program name");
  c.check(s.wrapperFile.startsWith(`${m.dir}/`), "name", "wrapper path escapes the instance directory");
  if (s.argv === undefined) {
    c.fail("command", "has an unterminated quote, a trailing backslash or a control character (newline, NUL...)");
    return c.problems;
  }
  if (s.argv.length === 0 || s.argv[0] === "") {
    c.fail("command", "is empty: give the program to run and its arguments");
  }
  s.argv.forEach((arg, i) => {
    c.check(!CONTROL_CHARS.test(arg), `command[${i}]`, "contains a control character (newline, NUL...): supervisord cannot represent it");
  });
  return c.problems;
};
