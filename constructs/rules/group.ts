import { Checks, type InstanceRule } from "./checks";
import { describe, type Problem } from "./problem";

/** `[group:x]`: its name and priority, and program names unique and distinct from it. */
export const groupRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  c.name("groupName", m.group.name, "a group name");
  c.int("groupPriority", m.group.priority, -999999, 999999);
  const problems: Problem[] = [...c.problems];
  const seen = new Map<string, string>();
  for (const s of m.services) {
    const other = seen.get(s.name);
    if (other !== undefined) {
      problems.push({
        path: s.path,
        field: "name",
        message: `program ${describe(s.name)} is already defined by ${other} in this instance`,
      });
    } else {
      seen.set(s.name, s.path);
    }
    if (s.name === m.group.name) {
      problems.push({
        path: s.path,
        field: "name",
        message: `equals the group name ${describe(m.group.name)}; supervisorctl could not tell them apart`,
      });
    }
  }
  return problems;
};
