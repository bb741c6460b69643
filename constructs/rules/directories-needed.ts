import { Checks, type InstanceRule } from "./checks";
import { describe } from "./problem";

const MODE = /^[0-7]?[0-7]{3}$/;
const GROUP = /^[a-z_][a-z0-9_-]*\$?$/;
const ACL = /^(u|user|g|group|m|mask|o|other):[A-Za-z0-9_.-]*:[rwxX-]{1,4}$/;
const TEMP_DIRS = ["/tmp", "/var/tmp", "/dev/shm"];

/** `directories`: absolute, each once, outside the instance directory, with a mode, group and ACL entries setfacl takes. */
export const directoriesNeededRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  const seen = new Set<string>();
  m.directories.forEach((d, i) => {
    const f = `directories[${i}]`;
    c.absolutePath(`${f}.path`, d.path);
    if (TEMP_DIRS.some((t) => d.path === t || d.path.startsWith(`${t}/`))) {
      c.fail(`${f}.path`, `${describe(d.path)} is under a temporary directory that HPC hosts wipe`);
    }
    if (d.path === m.dir || d.path.startsWith(`${m.dir}/`) || m.dir.startsWith(`${d.path}/`)) {
      c.fail(`${f}.path`, `${describe(d.path)} overlaps the instance directory ${m.dir}, which the deploy manages itself`);
    }
    c.check(!seen.has(d.path), `${f}.path`, `${describe(d.path)} is declared twice`);
    seen.add(d.path);
    c.check(MODE.test(d.mode), `${f}.mode`, `${describe(d.mode)} is not an octal mode like 2770`);
    if (d.group !== undefined) c.check(GROUP.test(d.group), `${f}.group`, `${describe(d.group)} is not a Unix group name`);
    d.defaultAcl.forEach((a, j) => {
      c.check(ACL.test(a), `${f}.defaultAcl[${j}]`, `${describe(a)} is not an ACL entry like g:genome:rx`);
    });
  });
  return c.problems;
};
