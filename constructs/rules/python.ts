import { ABSOLUTE_PATH, CONTROL_CHARS, PATH_WORD } from "../render/syntax";
import { Checks, type InstanceRule, URL } from "./checks";
import { describe } from "./problem";

const VERSION = /^\d+(\.\d+){0,3}$/;

/** The supervisor venv: the Python to make it with, the operator's preamble, and pip's sources. */
export const pythonRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  c.check(PATH_WORD.test(m.python.command), "pythonCommand", `${describe(m.python.command)} must be a command name or path`);
  m.python.preamble.forEach((line, i) => {
    c.check(!CONTROL_CHARS.test(line), `shellPreamble[${i}]`, "must be one line without control characters");
  });
  c.check(
    VERSION.test(m.python.supervisorVersion),
    "supervisorVersion",
    `${describe(m.python.supervisorVersion)} is not a version like 4.2.5`,
  );
  if (m.python.indexUrl !== undefined) {
    c.check(URL.test(m.python.indexUrl), "pipIndexUrl", `${describe(m.python.indexUrl)} is not an http(s) URL`);
  }
  m.python.findLinks.forEach((l, i) => {
    c.check(URL.test(l) || ABSOLUTE_PATH.test(l), `pipFindLinks[${i}]`, `${describe(l)} must be an absolute path or an http(s) URL`);
  });
  return c.problems;
};
