import { hasExpansion, withoutExpansions } from "../render/syntax";
import { Checks, type ServiceRule } from "./checks";

/** `stdout_logfile*` / `stderr_logfile*` / `redirect_stderr`. */
export const programLogsRule: ServiceRule = (s) => {
  const c = new Checks(s.path);
  for (const [field, file] of [
    ["stdoutLogfile", s.stdoutLogfile],
    ["stderrLogfile", s.stderrLogfile],
  ] as const) {
    if (file === "AUTO") c.fail(field, "AUTO logs go to the temp dir and vanish on restart; give an absolute path or NONE");
    else c.absolutePath(field, withoutExpansions(file), { allowNone: true });
  }
  c.byteSize("stdoutLogfileMaxbytes", s.stdoutLogfileMaxbytes);
  c.byteSize("stderrLogfileMaxbytes", s.stderrLogfileMaxbytes);
  c.int("stdoutLogfileBackups", s.stdoutLogfileBackups, 0, 1000);
  c.int("stderrLogfileBackups", s.stderrLogfileBackups, 0, 1000);
  if (s.numprocs > 1 && !hasExpansion(s.stdoutLogfile, "process_num") && s.stdoutLogfile !== "NONE") {
    c.fail("stdoutLogfile", "numprocs > 1: the log file must contain %(process_num)d, or processes overwrite each other's log");
  }
  if (s.redirectStderr && s.stderrLogfile !== "NONE") {
    c.fail("stderrLogfile", "is ignored when redirectStderr is true; leave it unset");
  }
  return c.problems;
};
