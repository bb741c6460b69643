import { CONTROL_CHARS } from "../render/syntax";
import { Checks, HOSTNAME, type ServiceRule } from "./checks";
import { describe } from "./problem";

/**
 * `healthCheck` and `restartOnProbeFailures`. The probe travels to the host as JSON in
 * state/programs.json (and a command probe as the argv of its own wrapper): no value of it reaches
 * supervisord.conf or a shell line, so the checks are about meaning, not escaping.
 */
export const healthCheckRule: ServiceRule = (s) => {
  const c = new Checks(s.path);
  if (s.restartOnProbeFailures !== undefined) {
    c.int("restartOnProbeFailures", s.restartOnProbeFailures, 1, 100);
    c.check(s.probe !== undefined, "restartOnProbeFailures", "needs a healthCheck: without a probe nothing can fail");
  }
  const p = s.probe;
  if (p === undefined) return c.problems;
  if (p.kindsGiven.length !== 1) {
    c.fail(
      "healthCheck",
      p.kindsGiven.length === 0
        ? "names no probe: give one of tcp (a port), http (a URL) or command (an argv)"
        : `gives ${p.kindsGiven.join(" and ")}: give exactly one of tcp, http, command`,
    );
    return c.problems;
  }
  c.check(!s.oneShot, "healthCheck", "a oneShot program exits: it has nothing to probe (its exit code is its health)");
  c.int("healthCheck.intervalSeconds", p.intervalSeconds, 1, 3600);
  c.int("healthCheck.timeoutSeconds", p.timeoutSeconds, 1, 600);
  c.int("healthCheck.successes", p.successes, 1, 100);
  c.int("healthCheck.failures", p.failures, 1, 100);
  const k = p.check;
  if (k.kind === "tcp") {
    c.int("healthCheck.tcp", k.port, 1, 65535);
    c.check(HOSTNAME.test(k.host), "healthCheck.host", `${describe(k.host)} is not a host name or IP address`);
  } else if (k.kind === "http") {
    c.check(httpUrl(k.url), "healthCheck.http", `${describe(k.url)} is not an http:// or https:// URL (no spaces or control characters)`);
    k.expectStatus.forEach((code, i) => {
      c.int(`healthCheck.expectStatus${k.expectStatus.length > 1 ? `[${i}]` : ""}`, code, 100, 599);
    });
    if (k.bodyMatch !== undefined) {
      c.check(k.bodyMatch !== "", "healthCheck.bodyMatch", "is empty: leave it out to accept any body");
      c.check(!k.bodyMatch.includes("\u0000"), "healthCheck.bodyMatch", "must not contain NUL");
    }
  } else {
    if (k.argv.length === 0 || k.argv[0] === "") c.fail("healthCheck.command", "is empty: give the program to run and its arguments");
    k.argv.forEach((arg, i) => {
      c.check(typeof arg === "string", `healthCheck.command[${i}]`, "must be a string");
      c.check(
        !CONTROL_CHARS.test(String(arg)),
        `healthCheck.command[${i}]`,
        "contains a control character (newline, NUL...): a wrapper cannot exec it",
      );
    });
  }
  return c.problems;
};

function httpUrl(url: string): boolean {
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return false;
  try {
    const u = new URL(url);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
  } catch {
    return false;
  }
}
