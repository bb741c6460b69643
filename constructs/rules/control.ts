import { Checks, HOSTNAME, type InstanceRule } from "./checks";
import { describe } from "./problem";

// sun_path is 108 bytes with its NUL.
const UNIX_SOCKET_MAX = 107;

/** The supervisorctl endpoint: `[unix_http_server] file` or `[inet_http_server] port`. */
export const controlRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  if (m.control.kind === "unix") {
    c.absolutePath("socketFile", m.control.socketFile);
    c.check(
      m.control.socketFile.length <= UNIX_SOCKET_MAX,
      "socketFile",
      `is ${m.control.socketFile.length} characters: unix socket paths are limited to ${UNIX_SOCKET_MAX}`,
    );
  } else {
    c.int("inetPort", m.control.port, 1, 65535);
    // A Slurm-launched instance listens on its node's address, known only inside the job (rules/launcher.ts).
    if (m.launcher.kind !== "slurm") {
      c.check(HOSTNAME.test(m.control.host), "inetHost", `${describe(m.control.host)} is not a host name or address`);
    }
  }
  return c.problems;
};
