/**
 * The app under test: stacks `jaws-test` and `jtm-test`, built with the same constructs as the
 * real site stacks (SupervisorInstance + JawsService), pointed at the local test host.
 *
 * A "model variant" is plain data (JSON-serialisable), so the same variant can be synthesized
 * in-process (fast) or by `cdktf` running ./app.ts (the way CI runs it).
 */
import { App } from "cdktf";
import { JawsService, type JawsServiceOptions, SupervisorInstance, type SupervisorInstanceOptions } from "../../../constructs";
import { createStack } from "../../../constructs/terraform";
import type { TestHostInfo, TestUserRole } from "../../host/test-host";

export const ROLES = ["jaws", "jtm"] as const satisfies readonly TestUserRole[];
export const DEPLOYMENT = "dev";
export const GROUP = `jaws-${DEPLOYMENT}`;

/** Instance options a variant may set (connection and paths always come from the test host). */
export type InstanceTweaks = Partial<
  Pick<
    SupervisorInstanceOptions,
    "loglevel" | "minfds" | "inetPort" | "inetHost" | "healthTimeoutSeconds" | "ensureCron" | "environment" | "shellPreamble"
  >
>;

/** Plain, mutable data: tests derive variants by changing a copy of the baseline. */
interface InstanceVariant {
  options?: InstanceTweaks;
  /** Program name -> options (the instance is filled in by the app). */
  services: Record<string, JawsServiceOptions>;
}

export type ModelVariant = Record<TestUserRole, InstanceVariant>;

export const stackName = (role: TestUserRole) => `${role}-test`;

/** The instance directory on the host (what SupervisorInstance computes from baseDirectory). */
export function instanceDir(info: TestHostInfo, role: TestUserRole): string {
  return `${info.users[role].home}/jaws-supervisor/${role}-${DEPLOYMENT}`;
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

/** A Python loop that writes a line a second and the value of $GREETING. */
const pythonLoop = (): string[] => [
  "/usr/bin/python3",
  "-u",
  "-c",
  // One line: the constructs reject a newline in an argument.
  "import os, time; [(print(os.environ.get('GREETING', '-'), flush=True), time.sleep(1)) for _ in iter(int, 1)]",
];

/** Exits 0 at once: a deploy step. */
export const oneShot = (text: string): JawsServiceOptions => ({ command: ["/bin/sh", "-c", `echo ${text}; exit 0`], oneShot: true });

/** Dies at start, with a line on stdout and on stderr for the health gate to show. */
export const crasher = (): JawsServiceOptions => ({
  command: ["/bin/sh", "-c", "echo 'crasher: reading config'; echo 'crasher: FATAL no such config file' >&2; exit 3"],
  startsecs: 1,
  startretries: 0,
});

const loop = (command: string[], extra: Partial<JawsServiceOptions> = {}): JawsServiceOptions => ({ command, startsecs: 1, ...extra });

/** The starting point of every test: three programs per instance (two loops and a one-shot). */
export function baseline(): ModelVariant {
  return {
    jaws: {
      services: {
        ticker: loop(shellLoop("jaws-tick")),
        greeter: loop(pythonLoop(), { environment: { GREETING: "hello" } }),
        setup: oneShot("jaws-setup-done"),
      },
    },
    jtm: {
      services: {
        worker: loop(shellLoop("jtm-work")),
        // No wrapper: its environment is in its [program] section, a change supervisord sees.
        poller: loop(pythonLoop(), { environment: { GREETING: "jtm" }, useWrapper: false }),
        "deploy-worker": oneShot("jtm-deploy-worker-done"),
      },
    },
  };
}

/** Builds both stacks into `app` exactly as the site stacks do, with the test host's connection. */
export function addTestStacks(app: App, info: TestHostInfo, variant: ModelVariant): void {
  for (const role of ROLES) {
    const user = info.users[role];
    const v = variant[role];
    const stack = createStack(app, stackName(role));
    const instance = new SupervisorInstance(stack, "supervisor", {
      name: role,
      deployment: DEPLOYMENT,
      host: info.host,
      port: info.port,
      user: user.name,
      hostKey: info.hostPublicKey,
      privateKeyFile: user.privateKeyPath,
      baseDirectory: `${user.home}/jaws-supervisor`,
      pythonCommand: "/usr/bin/python3",
      venvSystemSitePackages: true,
      pipNoIndex: true,
      deployResource: "terraform_data",
      healthTimeoutSeconds: 10,
      lockTimeoutSeconds: 60,
      ...v.options,
    });
    for (const [name, options] of Object.entries(v.services)) {
      new JawsService(stack, name, { instance, ...options });
    }
  }
}

/** In-process synthesis into `outdir` (what `cdktf synth` does, without its start-up cost). */
export function synthInProcess(outdir: string, info: TestHostInfo, variant: ModelVariant): void {
  const app = new App({ outdir });
  addTestStacks(app, info, variant);
  app.synth();
}
