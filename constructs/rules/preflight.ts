import { CONTROL_CHARS } from "../render/syntax";
import { Checks, HOSTNAME, type InstanceRule } from "./checks";
import { describe } from "./problem";

/** `preflight`: host names, ports and names the deploy can check and print. */
export const preflightRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  m.preflight.forEach((e, i) => {
    c.check(HOSTNAME.test(e.host), `preflight[${i}].host`, `${describe(e.host)} is not a host name or address`);
    c.int(`preflight[${i}].port`, e.port, 1, 65535);
    c.check(!CONTROL_CHARS.test(e.name) && e.name.length <= 80, `preflight[${i}].name`, "must be one line of at most 80 characters");
  });
  c.int("preflightTimeoutSeconds", m.preflightTimeoutSeconds, 1, 300);
  return c.problems;
};
