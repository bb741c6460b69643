import { normaliseSignal } from "../model/values";
import { hasExpansion, withoutExpansions } from "../render/syntax";
import { Checks, type ServiceRule } from "./checks";
import { describe } from "./problem";

/** How supervisord runs the program's processes: names, counts, start, restart and stop. */
export const programProcessRule: ServiceRule = (s) => {
  const c = new Checks(s.path);
  c.int("numprocs", s.numprocs, 1, 1000);
  c.int("numprocsStart", s.numprocsStart, 0);
  c.text("processName", s.processName, "processName");
  c.check(
    !/[\s:/]/.test(withoutExpansions(s.processName)),
    "processName",
    `${describe(s.processName)} must not contain whitespace, ':' or '/'`,
  );
  if (s.numprocs > 1) {
    c.check(
      hasExpansion(s.processName, "process_num"),
      "processName",
      `numprocs is ${s.numprocs}: processName must contain %(process_num)d so every process gets its own name`,
    );
  }
  c.int("priority", s.priority, -999999, 999999);
  c.int("startsecs", s.startsecs, 0);
  c.int("startretries", s.startretries, 0);
  c.int("stopwaitsecs", s.stopwaitsecs, 0);
  c.check(
    s.autorestart === true || s.autorestart === false || s.autorestart === "unexpected",
    "autorestart",
    `${describe(String(s.autorestart))} must be true, false or "unexpected"`,
  );
  c.check(s.exitcodes.length > 0, "exitcodes", "must list at least one exit code");
  for (const code of s.exitcodes) c.int("exitcodes", code, 0, 255);
  c.check(
    normaliseSignal(s.stopsignal) !== undefined,
    "stopsignal",
    `${describe(String(s.stopsignal))} is not a signal supervisord knows (TERM, HUP, INT, QUIT, KILL, USR1, USR2 or a number 1-31)`,
  );
  c.check(
    !(s.stopasgroup && !s.killasgroup),
    "stopasgroup",
    "stopasgroup=true requires killasgroup=true (supervisord rejects the combination)",
  );
  return c.problems;
};
