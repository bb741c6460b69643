/**
 * The site the tests and the benchmark deploy: the local test host as a JAWS site
 * (`testSite(info, variant)`), built into stacks by the app's own `addSiteStacks`. A variant (the
 * programs and option changes per instance) is plain JSON, so the same site can be synthesized
 * in-process or by `main.ts`, which loads this module through `JAWS_SITES_MODULE`: it then reads
 * the host and the variant from the file named by `JAWS_TEST_SITE` (test code only).
 */
import { readFileSync } from "node:fs";
import type { ConfigFileProps, JawsServiceOptions, PythonReleaseProps } from "../constructs";
import { jawsDeployments } from "../sites/ports";
import type { SiteDefinition, SiteInstance, SiteService } from "../sites/site";
import { ROLES, SYSTEM_PYTHON, TEST_USERS, type TestHostInfo, type TestUserRole } from "./test-host";

export const SITE_NAME = "testhost";
export const DEPLOYMENT = "dev";
export const GROUP = `jaws-${DEPLOYMENT}`;

/** One instance of a variant: its programs and anything else of the instance. */
export interface InstanceVariant {
  services: Record<string, SiteService>;
  /** Releases (PythonRelease) by id; programs name theirs in `releaseId`. */
  releases?: Record<string, PythonReleaseProps>;
  /** Config files (ConfigFile) by id; programs name theirs in `configFileIds`. */
  configFiles?: Record<string, ConfigFileProps>;
  options?: SiteInstance["options"];
  control?: SiteInstance["control"];
  /** No key file: Terraform authenticates with the keys of the ssh-agent (SSH_AUTH_SOCK), as CI does. */
  sshAgent?: boolean;
}

/** Plain, mutable data: tests derive variants by changing a copy of the baseline. */
export type Variant = Record<TestUserRole, InstanceVariant>;

/** The stack of an instance: `jaws-testhost`, `jtm-testhost`. */
export const stackName = (role: TestUserRole) => `${role}-${SITE_NAME}`;

/** The instance directory on the host (what SupervisorInstance computes from baseDirectory). */
export const instanceDir = (role: TestUserRole, deployment = DEPLOYMENT) =>
  `/home/${TEST_USERS[role]}/jaws-supervisor/${role}-${deployment}`;

export function testSite(info: TestHostInfo, variant: Variant): SiteDefinition {
  return {
    name: SITE_NAME,
    host: info.host,
    port: info.port,
    hostKey: info.hostPublicKey,
    pythonCommand: SYSTEM_PYTHON,
    // Not used by the test programs; required by the site data (and gives the inet port table).
    deployments: jawsDeployments((d) => `/srv/jaws-test/jaws-${d}`),
    instances: ROLES.map((role) => ({
      name: role,
      user: info.users[role].name,
      baseDirectory: `${info.users[role].home}/jaws-supervisor`,
      control: variant[role].control,
      services: () => variant[role].services,
      releases: () => variant[role].releases ?? {},
      configFiles: () => variant[role].configFiles ?? {},
      options: {
        privateKeyFile: variant[role].sshAgent ? undefined : info.users[role].privateKeyPath,
        // Debian's supervisor, no PyPI on the test machine.
        venvSystemSitePackages: true,
        pipNoIndex: true,
        healthTimeoutSeconds: 20,
        lockTimeoutSeconds: 60,
        ...variant[role].options,
      },
    })),
  };
}

/**
 * A shell loop that writes a line a second (the `marker` makes a changed command). No command
 * substitution: a forked subshell would show the same command line twice in `ps`.
 */
export const shellLoop = (marker: string): string[] => [
  "/bin/sh",
  "-c",
  `i=0; while true; do i=$((i+1)); echo "${marker} $i"; sleep 1; done`,
];

/** Exits 0 at once: a deploy step. */
export const oneShot = (text: string): JawsServiceOptions => ({ command: ["/bin/sh", "-c", `echo ${text}; exit 0`], oneShot: true });

/** A Python loop writing $GREETING every second (one line: the constructs reject a newline in an argument). */
const greeter = (greeting: string, extra: Partial<JawsServiceOptions> = {}): JawsServiceOptions => ({
  command: [
    "/usr/bin/python3",
    "-u",
    "-c",
    "import os, time; [(print(os.environ.get('GREETING', '-'), flush=True), time.sleep(1)) for _ in iter(int, 1)]",
  ],
  startsecs: 1,
  environment: { GREETING: greeting },
  ...extra,
});

/** The starting point of every test: two loops and a one-shot per instance. */
export function baseline(): Variant {
  return {
    jaws: {
      services: { ticker: { command: shellLoop("jaws-tick"), startsecs: 1 }, greeter: greeter("hello"), setup: oneShot("jaws-setup-done") },
    },
    jtm: {
      services: {
        worker: { command: shellLoop("jtm-work"), startsecs: 1 },
        // No wrapper: its environment is in its [program] section, a change supervisord sees.
        poller: greeter("jtm", { useWrapper: false }),
        "deploy-worker": oneShot("jtm-deploy-worker-done"),
      },
    },
  };
}

/**
 * The baseline as the app deploys it for the operator-facing tests: programs named like the JAWS
 * ones (`jaws-greeter`...), jtm's control endpoint on the port table's inet port.
 */
export function siteBaseline(): Variant {
  const v = baseline();
  for (const role of ROLES) v[role].services = Object.fromEntries(Object.entries(v[role].services).map(([k, s]) => [`jaws-${k}`, s]));
  v.jtm.control = "inet";
  return v;
}

/** What main.ts loads with JAWS_SITES_MODULE: the site of the file named by JAWS_TEST_SITE ({info, variant}). */
const file = process.env.JAWS_TEST_SITE;
const fromFile = file ? (JSON.parse(readFileSync(file, "utf8")) as { info: TestHostInfo; variant: Variant }) : undefined;
export const testhost = fromFile && testSite(fromFile.info, fromFile.variant);
