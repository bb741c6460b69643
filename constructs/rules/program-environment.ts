import { CONTROL_CHARS } from "../render/syntax";
import { Checks, type ServiceRule } from "./checks";
import { supervisordEnvironment, wrapperEnvironment } from "./environment";
import { describe } from "./problem";

/** What the program starts in: environment, locale, venv, directory, umask (with or without the wrapper). */
export const programEnvironmentRule: ServiceRule = (s) => {
  const c = new Checks(s.path);
  if (s.directory !== undefined) c.absolutePath("directory", s.directory);
  c.umask("umask", s.umask);
  if (s.useWrapper) {
    wrapperEnvironment(c, "environment", s.environment);
    c.check(/^[A-Za-z0-9_.@-]+$/.test(s.locale), "locale", `${describe(s.locale)} is not a locale name like en_US.UTF-8`);
    if (s.venv !== undefined) c.absolutePath("venv", s.venv);
    s.shellPreamble.forEach((line, i) => {
      c.check(!CONTROL_CHARS.test(line), `shellPreamble[${i}]`, "must be one line without control characters");
    });
  } else {
    supervisordEnvironment(c, "environment", s.environment);
    c.check(s.venv === undefined, "venv", "needs the wrapper script (useWrapper: true) to activate it");
    c.check(!s.loginShell, "loginShell", "needs the wrapper script (useWrapper: true)");
    c.check(s.shellPreamble.length === 0, "shellPreamble", "needs the wrapper script (useWrapper: true) to run it");
  }
  return c.problems;
};
