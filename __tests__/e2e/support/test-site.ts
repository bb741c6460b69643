/**
 * A JAWS site that points at the local test host (`__tests__/host/`), loaded by main.ts and
 * scripts/status.ts through `JAWS_SITES_MODULE=__tests__/e2e/support/test-site.ts`, the way an
 * operator adds a site kept outside the repository.
 *
 * What a site file cannot know is given the documented way: the host key with
 * `JAWS_HOST_KEY_TESTHOST`, the SSH port and the Python settings with `JAWS_OVERRIDES`. The
 * private key differs per Unix user, which overrides (applied to every instance) cannot express:
 * each instance carries its own in `SiteInstance.options`, read from the test host's
 * `test-host.json` named by `JAWS_TEST_HOST` (set by the e2e global setup).
 *
 * `JAWS_TEST_SITE_ENV` (JSON, optional) changes program environments without editing this file:
 * `{"jaws/greeter": {"GREETING": "bonjour"}}`.
 */
import { readFileSync } from "node:fs";
import type { JawsServiceOptions } from "../../../constructs";
import { jawsDeployments } from "../../../sites/ports";
import type { SiteDefinition } from "../../../sites/site";

/** The test host's Unix users (fixed names, see __tests__/host/test-host.ts TEST_USERS). */
export const TEST_SITE_USERS = { jaws: "jawstest", jtm: "jawstest_jtm" } as const;
export const TEST_SITE_NAME = "testhost";

interface HostFile {
  users: { jaws: { privateKeyPath: string }; jtm: { privateKeyPath: string } };
}

function keyFile(role: "jaws" | "jtm"): string | undefined {
  const file = process.env.JAWS_TEST_HOST;
  if (!file) return undefined;
  return (JSON.parse(readFileSync(file, "utf8")) as HostFile).users[role].privateKeyPath;
}

const envTweaks = (): Record<string, Record<string, string>> => JSON.parse(process.env.JAWS_TEST_SITE_ENV || "{}");

/** A program with the extra environment of JAWS_TEST_SITE_ENV merged in. */
function withEnv(instance: string, name: string, o: JawsServiceOptions): JawsServiceOptions {
  const extra = envTweaks()[`${instance}/${name}`];
  return extra ? { ...o, environment: { ...o.environment, ...extra } } : o;
}

/** A shell loop writing a line a second ($MARKER when set). */
const loop = (marker: string, environment?: Record<string, string>): JawsServiceOptions => ({
  command: ["/bin/sh", "-c", `i=0; while true; do i=$((i+1)); echo "${marker} \${MARKER:-} $i"; sleep 1; done`],
  startsecs: 1,
  environment,
});

export const testhost: SiteDefinition = {
  name: TEST_SITE_NAME,
  host: "127.0.0.1",
  pythonCommand: "/usr/bin/python3",
  // Not used by the test programs; required by the site data.
  deployments: jawsDeployments((d) => `/srv/jaws-test/jaws-${d}`),
  instances: [
    {
      name: "jaws",
      user: TEST_SITE_USERS.jaws,
      baseDirectory: `/home/${TEST_SITE_USERS.jaws}/jaws-supervisor`,
      options: { privateKeyFile: keyFile("jaws") },
      services: (d) => ({
        "jaws-ticker": withEnv("jaws", "jaws-ticker", loop(`jaws-tick-${d.deployment}`, { MARKER: "tick" })),
        "jaws-greeter": withEnv("jaws", "jaws-greeter", loop(`jaws-greet-${d.deployment}`, { GREETING: "hello", MARKER: "greet" })),
        "jaws-setup": withEnv("jaws", "jaws-setup", {
          command: ["/bin/sh", "-c", `echo setup ${d.deployment} done`],
          oneShot: true,
        }),
      }),
    },
    {
      name: "jtm",
      user: TEST_SITE_USERS.jtm,
      baseDirectory: `/home/${TEST_SITE_USERS.jtm}/jaws-supervisor`,
      // inet_http_server on 127.0.0.1 at the port table's port (64111 dev, 64113 prod).
      control: "inet",
      options: { privateKeyFile: keyFile("jtm") },
      services: (d) => ({
        "jaws-worker": withEnv("jtm", "jaws-worker", loop(`jtm-work-${d.deployment}`, { MARKER: "work" })),
        "jaws-poller": withEnv("jtm", "jaws-poller", loop(`jtm-poll-${d.deployment}`, { MARKER: "poll" })),
      }),
    },
  ],
};
