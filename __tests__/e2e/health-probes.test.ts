/**
 * Health probes on the test host: a TCP, an HTTP and a command probe pass the deploy's health gate
 * and show in the status; a program RUNNING but not listening fails the gate, which rolls back
 * with every other PID kept; the ensure script restarts a hung program after N failed probes and
 * then holds back (back-off); a probe change restarts exactly its program.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { restartedBetween, snapshot } from "../../testkit/processes";
import { freeStablePort, runAsUser, SYSTEM_PYTHON, type TestHostInfo } from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, type Variant } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { Fixture, hostFile, onlyRestarted, timing, waitFor } from "./support/fixture";

const { info, skipReason } = useTestHost();

const HOME = "/home/jawstest";
const SERVER = `${HOME}/probe-server.py`;
const HANG = `${HOME}/web.hang`;
const DIR = instanceDir("jaws");

/** The baseline with three probed programs in the jaws instance. */
function probed(ports: { web: number; api: number }, change: (v: Variant) => void = () => {}): Variant {
  const v = baseline();
  v.jaws.options = { healthTimeoutSeconds: 8 };
  const ticker = v.jaws.services.ticker;
  v.jaws.services = {
    ...v.jaws.services,
    // The command probe runs through the wrapper: the program's environment, the argv exact.
    ticker: {
      ...ticker,
      environment: { PROBE_TOKEN: `a b'$c%\${x}` },
      healthCheck: { command: ["/bin/sh", "-c", 'test "$PROBE_TOKEN" = "$1"', "probe", `a b'$c%\${x}`] },
    },
    web: {
      command: [SYSTEM_PYTHON, SERVER, "http", String(ports.web), HANG],
      startsecs: 1,
      environment: { GREETING: "probe" },
      healthCheck: { http: `http://127.0.0.1:${ports.web}/`, bodyMatch: "jaws-ok probe", intervalSeconds: 10, timeoutSeconds: 1 },
      restartOnProbeFailures: 2,
    },
    api: { command: [SYSTEM_PYTHON, SERVER, "tcp", String(ports.api)], startsecs: 1, healthCheck: { tcp: ports.api, intervalSeconds: 1 } },
  };
  change(v);
  return v;
}

const jawsctl = (cmd: string) => runAsUser("jaws", `${DIR}/venv/bin/python -I -m jawsctl --dir ${DIR} ${cmd}`);
const pidOf = (program: string) => snapshot().processes[`jaws ${GROUP}:${program}`].pid;

describe.skipIf(!info)(`health probes (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const fx = new Fixture(host);
  let ports: { web: number; api: number };

  test("TCP, HTTP and command probes pass the health gate; the status shows each result and its age", async () => {
    fx.fromNothing();
    ports = { web: await freeStablePort(), api: await freeStablePort() };
    while (ports.api === ports.web) ports.api = await freeStablePort();
    const put = runAsUser("jaws", `cat > ${SERVER}`, {
      input: fs.readFileSync(path.join(__dirname, "support", "probe-server.py"), "utf8"),
    });
    expect(put.code, put.output).toBe(0);
    const t0 = Date.now();
    const [jaws] = await fx.project.deploy(probed(ports));
    timing("probes: cold deploy with three probes", Date.now() - t0);
    expect(jaws.output).toMatch(/health: 5 process\(es\) up, 3 probe\(s\) passing/);
    // The probe wrapper is the program's environment with the probe's argv.
    expect(hostFile("jaws", "bin/ticker@probe.sh")).toContain("export PROBE_TOKEN=");
    const s = jawsctl("status");
    console.info(s.output);
    expect(s.code, s.output).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`^${GROUP}:api\\s+tcp 127\\.0\\.0\\.1:${ports.api}\\s+PASS\\s+\\d+s\\s+connected to`, "m"));
    expect(s.stdout).toMatch(new RegExp(`^${GROUP}:web\\s+http http://127\\.0\\.0\\.1:${ports.web}/\\s+PASS\\s+\\d+s\\s+HTTP 200`, "m"));
    expect(s.stdout).toMatch(new RegExp(`^${GROUP}:ticker\\s+command ticker@probe\\.sh\\s+PASS\\s+\\d+s\\s+exit 0`, "m"));
  });

  test("a program RUNNING but not listening fails the gate with the probe's output and its log; rollback keeps every other PID", () => {
    const before = snapshot();
    fx.project.synth(
      probed(
        ports,
        (v) => (v.jaws.services.api = { ...v.jaws.services.api, command: [SYSTEM_PYTHON, SERVER, "silent", String(ports.api)] }),
      ),
    );
    const r = fx.project.apply("jaws");
    console.info(r.output);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(
      new RegExp(
        `health gate failed: ${GROUP}:api is RUNNING but its probe \\(tcp 127\\.0\\.0\\.1:${ports.api}\\) did not pass 1 time\\(s\\) in a row within 8s; last result: 127\\.0\\.0\\.1:${ports.api}: Connection refused`,
      ),
    );
    expect(r.output).toMatch(new RegExp(`last stdout of ${GROUP}:api ---[\\s\\S]*probe-server silent on ${ports.api}`));
    expect(r.output).toMatch(/previous config restored and healthy/);
    const after = snapshot();
    expect(restartedBetween(before, after)).toEqual(onlyRestarted(`jaws ${GROUP}:api`));
    expect(after.processes[`jaws ${GROUP}:api`].state).toBe("RUNNING");
    expect(jawsctl("status").stdout).toMatch(new RegExp(`^${GROUP}:api\\s+\\S+ \\S+\\s+PASS`, "m"));
  });

  test("ensure restarts a hung program after 2 failed probes, then holds the next restart back", async () => {
    const web0 = pidOf("web");
    const api0 = pidOf("api");
    expect(runAsUser("jaws", `touch ${HANG}`).code).toBe(0);
    const first = runAsUser("jaws", `${DIR}/bin/ensure --quiet`);
    expect(first.code, first.output).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`probe of ${GROUP}:web failed \\(1 in a row of 2\\): GET http://127\\.0\\.0\\.1:${ports.web}/: timed out`),
    );
    expect(pidOf("web")).toBe(web0);
    const second = runAsUser("jaws", `${DIR}/bin/ensure --quiet`);
    expect(second.stdout).toMatch(
      new RegExp(`probe of ${GROUP}:web failed \\(2 in a row of 2\\).*; restarted \\(restart 1; next back-off 20s\\)`),
    );
    // The new process clears the hang when it starts: its probe passes (ensure says nothing), the back-off stays.
    await waitFor("web restarted and serving", () => snapshot().processes[`jaws ${GROUP}:web`].state === "RUNNING" && !fs.existsSync(HANG));
    const web1 = pidOf("web");
    expect(web1).not.toBe(web0);
    const quiet = runAsUser("jaws", `${DIR}/bin/ensure --quiet`);
    expect(quiet.stdout).toBe("");
    expect(JSON.parse(hostFile("jaws", "state/probes.json")).web).toMatchObject({ ok: true, restarts: 1 });
    // Hung again at once: two failures, but the restart waits out the back-off.
    expect(runAsUser("jaws", `touch ${HANG}`).code).toBe(0);
    runAsUser("jaws", `${DIR}/bin/ensure --quiet`);
    const held = runAsUser("jaws", `${DIR}/bin/ensure --quiet`);
    expect(held.stdout).toMatch(/failed \(2 in a row of 2\).*; restart 2 held back: back-off, \d+s left/);
    console.info(`${first.stdout}${second.stdout}${held.stdout}`);
    expect(pidOf("web")).toBe(web1);
    expect(pidOf("api")).toBe(api0);
    const log = hostFile("jaws", "log/probes.log");
    expect(log.match(/restarted \(restart/g)).toHaveLength(1);
    expect(log).toMatch(/held back: back-off/);
  });

  test("a probe change alone restarts exactly its program", async () => {
    fs.rmSync(HANG, { force: true });
    const before = snapshot();
    await fx.project.deploy(
      probed(ports, (v) => (v.jaws.services.api = { ...v.jaws.services.api, healthCheck: { tcp: ports.api, intervalSeconds: 2 } })),
    );
    expect(restartedBetween(before, snapshot())).toEqual(onlyRestarted(`jaws ${GROUP}:api`));
    fx.cleanup();
  });
});
