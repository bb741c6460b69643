import { ABSOLUTE_PATH, PATH_WORD } from "../render/syntax";
import { Checks, type InstanceRule, URL } from "./checks";
import { describe, type Problem } from "./problem";

// PEP 508 names; versions: PEP 440's alphabet (a directory name on the host).
const PACKAGE = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_-]*$/;

/** Releases: what pip installs and from where, one release per package, and the programs' references. */
export const releasesRule: InstanceRule = (m) => {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const r of m.releases) {
    const c = new Checks(r.path);
    problems.push(...r.inputProblems);
    c.check(PACKAGE.test(r.package), "package", `${describe(r.package)} is not a Python package name (letters, digits, '.', '_', '-')`);
    c.check(
      VERSION.test(r.version) && r.version !== "current" && r.version.length <= 100,
      "version",
      `${describe(r.version)} is not a version like 2.5.4 (letters, digits, '.', '+', '!', '_', '-')`,
    );
    c.check(PATH_WORD.test(r.python), "pythonCommand", `${describe(r.python)} must be a command name or path`);
    if (r.indexUrl !== undefined) c.check(URL.test(r.indexUrl), "pipIndexUrl", `${describe(r.indexUrl)} is not an http(s) URL`);
    r.findLinks.forEach((l, i) => {
      c.check(URL.test(l) || ABSOLUTE_PATH.test(l), `pipFindLinks[${i}]`, `${describe(l)} must be an absolute path or an http(s) URL`);
    });
    if (r.wheelFile !== undefined) {
      c.absolutePath("wheelFile", r.wheelFile);
      c.check(r.wheelFile.endsWith(".whl"), "wheelFile", `${describe(r.wheelFile)} is not a wheel file (*.whl)`);
    }
    c.int("keepReleases", r.keepReleases, 1, 100);
    const other = seen.get(r.package);
    if (other !== undefined) c.fail("package", `${r.package} is already a release of this instance (${other}): one release per package`);
    else seen.set(r.package, r.path);
    problems.push(...c.problems);
  }
  for (const s of m.services) {
    if (!s.release) continue;
    const r = m.releases.find((x) => x.package === s.release?.package && `${x.directory}/current` === s.release?.venv);
    if (!r)
      problems.push({
        path: s.path,
        field: "release",
        message: `release ${s.release.package} is not a release of this program's instance ${m.path}`,
      });
  }
  return problems;
};
