import { Checks, type InstanceRule } from "./checks";
import { describe } from "./problem";

const TEMP_DIRS = ["/tmp", "/var/tmp", "/dev/shm"];

/** Where the instance lives: an absolute path, never under a directory HPC hosts wipe. */
export const directoriesRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  c.absolutePath("baseDirectory", m.baseDirectory);
  if (TEMP_DIRS.some((t) => m.baseDirectory === t || m.baseDirectory.startsWith(`${t}/`))) {
    c.fail(
      "baseDirectory",
      `${describe(m.baseDirectory)} is under a temporary directory that HPC hosts wipe (maintenance, tmpwatch); use project or home storage`,
    );
  }
  return c.problems;
};
