/** rules/health-check.ts: `healthCheck` and `restartOnProbeFailures`, one row per check, naming path and field. */
import { describe, expect, it } from "vitest";
import type { HealthCheck, JawsServiceOptions } from "../../../constructs";
import { validateInstance } from "../../../constructs/rules";
import { healthCheckRule } from "../../../constructs/rules/health-check";
import { model } from "../../support/fixtures";

const ok = { command: ["sleep", "100"] };
const withCheck = (healthCheck: HealthCheck, extra: Partial<JawsServiceOptions> = {}) => model({}, { p: { ...ok, healthCheck, ...extra } });

const bad: [string, ReturnType<typeof model>, string][] = [
  ["no kind", withCheck({} as HealthCheck), "healthCheck"],
  ["two kinds", withCheck({ tcp: 80, http: "http://127.0.0.1/" } as unknown as HealthCheck), "healthCheck"],
  ["tcp port 70000", withCheck({ tcp: 70000 }), "healthCheck.tcp"],
  ["tcp port 1.5", withCheck({ tcp: 1.5 }), "healthCheck.tcp"],
  ["tcp host with a space", withCheck({ tcp: 80, host: "a b" }), "healthCheck.host"],
  ["http not a URL", withCheck({ http: "localhost:8080/health" }), "healthCheck.http"],
  ["http ftp URL", withCheck({ http: "ftp://127.0.0.1/" }), "healthCheck.http"],
  ["http URL with a newline", withCheck({ http: "http://127.0.0.1/\n[program:x]" }), "healthCheck.http"],
  ["http URL with a space", withCheck({ http: "http://127.0.0.1/a b" }), "healthCheck.http"],
  ["expectStatus 99", withCheck({ http: "http://127.0.0.1/", expectStatus: 99 }), "healthCheck.expectStatus"],
  ["expectStatus list with 600", withCheck({ http: "http://127.0.0.1/", expectStatus: [200, 600] }), "healthCheck.expectStatus[1]"],
  ["empty bodyMatch", withCheck({ http: "http://127.0.0.1/", bodyMatch: "" }), "healthCheck.bodyMatch"],
  ["bodyMatch with NUL", withCheck({ http: "http://127.0.0.1/", bodyMatch: "a\u0000" }), "healthCheck.bodyMatch"],
  ["empty command", withCheck({ command: [] }), "healthCheck.command"],
  ["command argument with a newline", withCheck({ command: ["check", "a\nb"] }), "healthCheck.command[1]"],
  ["interval 0", withCheck({ tcp: 80, intervalSeconds: 0 }), "healthCheck.intervalSeconds"],
  ["timeout 601", withCheck({ tcp: 80, timeoutSeconds: 601 }), "healthCheck.timeoutSeconds"],
  ["successes 0", withCheck({ tcp: 80, successes: 0 }), "healthCheck.successes"],
  ["failures 1.5", withCheck({ tcp: 80, failures: 1.5 }), "healthCheck.failures"],
  ["a probe on a one-shot", withCheck({ tcp: 80 }, { oneShot: true }), "healthCheck"],
  ["restartOnProbeFailures without a probe", model({}, { p: { ...ok, restartOnProbeFailures: 3 } }), "restartOnProbeFailures"],
  ["restartOnProbeFailures 0", withCheck({ tcp: 80 }, { restartOnProbeFailures: 0 }), "restartOnProbeFailures"],
];

describe("healthCheck: each bad value is named by the program's path and the field", () => {
  it.each(bad)("%s", (_label, m, field) => {
    const problems = healthCheckRule(m.services[0], m);
    expect(problems).toContainEqual(expect.objectContaining({ path: "app/jaws/p", field }));
    // The whole validation reports it too (once), with a message that fits one line.
    const all = validateInstance(m).filter((p) => p.field === field);
    expect(all).toHaveLength(1);
    expect(all[0].message).not.toMatch(/\n/);
  });

  it.each([
    ["tcp", { tcp: 8080 }],
    ["tcp with host and timing", { tcp: 8080, host: "::1", intervalSeconds: 2, timeoutSeconds: 1, successes: 2, failures: 5 }],
    ["http", { http: "http://127.0.0.1:8080/health" }],
    [
      "https with status list and body text with quotes, % and ${",
      { http: "https://h.example.org/x?a=%20", expectStatus: [200, 204], bodyMatch: `"ok": 100% \${x}` },
    ],
    [
      "command with shell characters in its arguments",
      { command: ["jaws-site", "--config", "/a b/'c'.conf", "$(id)", "${HOME}", "%(here)s"] },
    ],
  ] as [string, HealthCheck][])("accepts %s", (_label, h) => {
    expect(validateInstance(withCheck(h, { restartOnProbeFailures: 3 }))).toEqual([]);
  });
});
