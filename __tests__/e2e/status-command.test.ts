/**
 * Operators: `npm run status -- <site> <deployment>` over real SSH to the test host,
 * with the same site definition as the deploy (JAWS_SITES_MODULE, pinned host key, the instances'
 * own keys). Every program of both instances with state, PID and uptime; clear errors when
 * supervisord is not running, when nothing is deployed, and when the host cannot be reached.
 */
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { type RunResult, run } from "../../testkit/commands";
import { pidsByProgram, supervisordPid } from "../../testkit/processes";
import { REPO } from "../../testkit/project";
import { freeStablePort, ROLES, runAsUser, type TestHostInfo } from "../../testkit/test-host";
import { instanceDir, SITE_NAME, siteBaseline } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { siteProject, timing, waitFor } from "./support/fixture";

const { info, skipReason } = useTestHost();

const PROGRAMS = {
  jaws: ["jaws-greeter", "jaws-setup", "jaws-ticker"],
  jtm: ["jaws-poller", "jaws-worker"],
} as const;
const ONE_SHOTS = new Set(["jaws-setup"]);

describe.skipIf(!info)(`operators' status command (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const project = siteProject(host, "status");

  /** `npm run status -- testhost <deployment>` in the repository, with the site's environment. */
  const status = (deployment: string, extra: Record<string, string> = {}): RunResult =>
    run("npm", ["run", "--silent", "status", "--", SITE_NAME, deployment], {
      cwd: REPO,
      env: project.env(extra),
      timeoutMs: 120_000,
    });

  test("every program of both instances, with state, PID and uptime; exit 0", () => {
    const r = status("dev");
    timing("status: npm run status (both instances up)", r.ms);
    console.info(r.output);
    expect(r.code, r.output).toBe(0);
    for (const role of ROLES) {
      expect(r.output).toContain(`== ${role}-dev (${host.users[role].name}@127.0.0.1:${host.port})`);
      const pids = pidsByProgram(role);
      for (const program of PROGRAMS[role]) {
        const name = `jaws-dev:${program}`;
        const line = r.output.split("\n").find((l) => l.startsWith(`${name} `));
        expect(line, `${name} in\n${r.output}`).toBeDefined();
        const [, state, pid, uptime] = (line as string).trim().split(/\s+/);
        if (ONE_SHOTS.has(program)) {
          expect(state).toBe("EXITED");
          expect(pid).toBe("-");
        } else {
          expect(state, line).toBe("RUNNING");
          expect(Number(pid)).toBe(pids[name]);
          expect(uptime).toMatch(/^\d+:\d\d:\d\d$/);
        }
      }
    }
  });

  test("supervisord of one instance shut down: says so, names the ensure script, exit 1; the other instance still shown", async () => {
    const dir = instanceDir("jtm");
    const down = runAsUser("jtm", `${dir}/bin/supervisorctl shutdown`);
    expect(down.code, down.stderr + down.stdout).toBe(0);
    await waitFor("jtm supervisord gone", () => supervisordPid("jtm") === undefined, 15_000);
    expect(supervisordPid("jtm")).toBeUndefined();

    const r = status("dev");
    timing("status: npm run status (jtm down)", r.ms);
    console.info(r.output);
    expect(r.code, r.output).toBe(1);
    const jtmPart = r.output.slice(r.output.indexOf("== jtm-dev"));
    expect(jtmPart).toMatch(/supervisord is not running/);
    expect(jtmPart).toContain(`${dir}/bin/ensure`);
    // jaws is unaffected and still listed.
    expect(r.output).toMatch(/^jaws-dev:jaws-ticker\s+RUNNING\s+\d+/m);
  });

  test("nothing deployed for a deployment: says so, exit 1", () => {
    const r = status("staging");
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain(`nothing deployed in ${instanceDir("jaws", "staging")}`);
    expect(r.output).toContain(`nothing deployed in ${instanceDir("jtm", "staging")}`);
  });

  test("wrong SSH port: says the host cannot be reached, exit 1", async () => {
    const port = await freeStablePort();
    const elsewhere = project.setVariant(siteBaseline(), { ...host, port }, path.join(project.dir, "wrong-port.json"));
    const r = status("dev", { JAWS_TEST_SITE: elsewhere });
    timing("status: npm run status (wrong port)", r.ms);
    console.info(r.output);
    expect(r.code, r.output).toBe(1);
    for (const role of ROLES) {
      const part = r.output.slice(r.output.indexOf(`== ${role}-dev`));
      expect(part).toMatch(
        new RegExp(
          `^== ${role}-dev \\(${host.users[role].name}@127\\.0\\.0\\.1:${port}\\)\\nERROR: cannot reach the host over SSH: .*(refused|port ${port})`,
          "m",
        ),
      );
    }
  });
});
