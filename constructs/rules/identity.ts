import { Checks, type InstanceRule } from "./checks";
import { describe } from "./problem";

/** `name` and `deployment`: they make the instance directory, identifier and control user. */
export const identityRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  c.name("name", m.name, "an instance name");
  c.check(/^[a-z0-9][a-z0-9-]*$/.test(m.deployment), "deployment", `${describe(m.deployment)} must be lowercase letters, digits and '-'`);
  return c.problems;
};
