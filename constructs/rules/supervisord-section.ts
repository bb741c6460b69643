import { LOG_LEVELS } from "../model/values";
import { Checks, type InstanceRule } from "./checks";
import { supervisordEnvironment } from "./environment";
import { describe } from "./problem";

/** `[supervisord]`: logs, pidfile, limits, identifier, umask, environment, directory. */
export const supervisordSectionRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  const s = m.supervisord;
  c.absolutePath("logfile", s.logfile);
  c.byteSize("logfileMaxbytes", s.logfileMaxbytes);
  c.int("logfileBackups", s.logfileBackups, 0, 1000);
  c.check(
    (LOG_LEVELS as readonly string[]).includes(s.loglevel),
    "loglevel",
    `${describe(s.loglevel)} must be one of ${LOG_LEVELS.join(", ")}`,
  );
  c.absolutePath("pidfile", s.pidfile);
  c.int("minfds", s.minfds, 1, 1048576);
  c.int("minprocs", s.minprocs, 1, 1048576);
  c.check(/^[A-Za-z0-9_.@-]+$/.test(s.identifier), "identifier", `${describe(s.identifier)} must be letters, digits and _.@-`);
  c.umask("umask", s.umask);
  c.absolutePath("childlogdir", s.childlogdir);
  supervisordEnvironment(c, "environment", s.environment);
  c.absolutePath("directory", s.directory);
  return c.problems;
};
