import { HOST_DIRECTORIES, HOST_FILES } from "../host-layout";
import { RELEASES_DIRECTORY } from "../model/release";
import { renderConfigFile } from "../render/config-file";
import { Checks, type InstanceRule } from "./checks";
import { describe, type Problem } from "./problem";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GROUP = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const FORMATS = ["ini", "env", "text"];
/** What the instance directory holds already (its layout, the releases): a config file goes elsewhere (config/ say). */
const RESERVED = new Set([
  ...HOST_DIRECTORIES.map((d) => d.path.split("/")[0]),
  ...Object.values(HOST_FILES).map((f) => f.split("/")[0]),
  RELEASES_DIRECTORY,
]);

/** Config files: where they go, their mode, values and secrets, the template, and the programs' references. */
export const configFilesRule: InstanceRule = (m) => {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const f of m.configFiles) {
    const c = new Checks(f.path);
    problems.push(...f.inputProblems);
    c.absolutePath("path", f.file);
    if (f.file.startsWith(`${m.dir}/`)) {
      const first = f.file.slice(m.dir.length + 1).split("/")[0];
      c.check(
        !RESERVED.has(first) && !first.startsWith("venv-"),
        "path",
        `${describe(f.declaredPath)} is in ${first}, which the instance itself uses: put config files in config/ (or elsewhere)`,
      );
    }
    c.check(f.file !== m.dir, "path", "must name a file, not the instance directory");
    const other = seen.get(f.file);
    if (other !== undefined) c.fail("path", `${f.file} is already a config file of this instance (${other})`);
    else seen.set(f.file, f.path);
    c.check(FORMATS.includes(f.format), "format", `${describe(f.format)} is not one of ${FORMATS.join(", ")}`);
    c.check(f.mode === "0600" || f.mode === "0640", "mode", `${describe(f.mode)} must be 0600, or 0640 with a group`);
    if (f.mode === "0640") c.check(f.group !== undefined, "group", "mode 0640 lets a group read the file: name the group");
    if (f.group !== undefined) c.check(GROUP.test(f.group), "group", `${describe(f.group)} is not a group name`);
    for (const name of Object.keys(f.values)) {
      c.check(
        IDENTIFIER.test(name) && name !== "secret",
        `values.${name}`,
        `${describe(name)} must be a name of letters, digits and _ (not "secret")`,
      );
    }
    for (const [name, source] of Object.entries(f.secrets)) {
      c.check(IDENTIFIER.test(name), `secrets.${name}`, `${describe(name)} must be a name of letters, digits and _`);
      if (!source) c.fail(`secrets.${name}`, "give envVariable (the value) or fileVariable (a file holding it), exactly one");
      else c.check(IDENTIFIER.test(source.variable), `secrets.${name}`, `${describe(source.variable)} is not an environment variable name`);
    }
    problems.push(...c.problems);
    if (c.problems.length === 0) problems.push(...renderConfigFile(f).problems);
  }
  for (const s of m.services) {
    s.configFiles.forEach((file, i) => {
      if (!m.configFiles.some((f) => f.file === file)) {
        problems.push({
          path: s.path,
          field: `configFiles[${i}]`,
          message: `${file} is not a config file of this program's instance ${m.path}`,
        });
      }
    });
  }
  return problems;
};
