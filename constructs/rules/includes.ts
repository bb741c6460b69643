import { Checks, type InstanceRule } from "./checks";
import { describe } from "./problem";

const GLOB = /^\/[A-Za-z0-9_@+=:,./*?[\]-]*$/;

/** `includeFiles`: absolute globs outside the instance directory (whose files are the deploy's own). */
export const includesRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  m.includeFiles.forEach((g, i) => {
    const f = `includeFiles[${i}]`;
    if (!GLOB.test(g)) {
      c.fail(f, `${describe(g)} must be an absolute path or glob of letters, digits, _@+=:,./- and * ? [ ]`);
    } else if (g.split("/").includes("..")) {
      c.fail(f, `${describe(g)} must not contain '..'`);
    } else if (g.startsWith(`${m.dir}/`)) {
      c.fail(f, `${describe(g)} is inside the instance directory, whose files the deploy writes itself`);
    }
  });
  return c.problems;
};
