/**
 * Faults on the test host: a deploy interrupted half-way (SSH session killed, deploy
 * process killed), a config the host's supervisord parser rejects, a health gate failure with
 * automatic rollback, two deploys of one instance at once, stale pidfile and socket after a crash
 * of supervisord, a host without the configured Python or where pip cannot install. Each ends with
 * the instance in a known state: the intended one, or the previous one untouched.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { afterAll, describe, expect, test } from "vitest";
import type { JawsServiceOptions } from "../../constructs";
import type { Running } from "../../testkit/commands";
import { instanceState, processesMatching, procScan, restartedBetween, type Snapshot, snapshot } from "../../testkit/processes";
import { Project } from "../../testkit/project";
import { pidRunning, runAsUser, TEST_USERS, type TestHostInfo, type TestUserRole, userProcesses } from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, shellLoop, type Variant } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import {
  crasher,
  expectBaselineUp,
  expectEachOnce,
  Fixture,
  hostFile,
  listFiles,
  onlyRestarted,
  pidsOf,
  variantWith,
  waitFor,
} from "./support/fixture";

/** SIGKILL, ignoring processes already gone. */
function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/**
 * Every long-lived process of the user, pid -> command line (what a crash or a failed deploy must
 * not change); the loops' `sleep 1` children, which come and go every second, and SSH sessions
 * that are closing are left out.
 */
const userPidTable = (role: TestUserRole): Record<number, string> =>
  Object.fromEntries(
    userProcesses(TEST_USERS[role])
      .filter((p) => !/^sleep \d+$|^sshd: /.test(p.cmd))
      .map((p) => [p.pid, p.cmd]),
  );

const { info, skipReason } = useTestHost();

const APPLY = ["apply", "-auto-approve", "-input=false"];

/** A loop that takes `secs` to stop (its TERM trap sleeps): a deploy spends seconds in its stop phase. */
const slowStop = (marker: string, secs = 4): JawsServiceOptions => ({
  command: ["/bin/sh", "-c", `trap 'sleep ${secs}; exit 0' TERM; i=0; while true; do i=$((i+1)); echo "${marker} $i"; sleep 1; done`],
  startsecs: 1,
  stopwaitsecs: secs + 10,
});

/**
 * A gate file: a `gatedStop` program, once told to stop, stays STOPPING until the test opens the
 * gate, so a deploy is held in its stop phase for as long as the test needs (no timing window).
 */
const GATE = `/tmp/jaws-e2e-stop-gate-${process.pid}`;
const closeGate = () => fs.rmSync(GATE, { force: true });
const openGate = () => fs.writeFileSync(GATE, "");

/** A loop whose TERM trap waits for the gate (polled), then exits 0. */
const gatedStop = (marker: string): JawsServiceOptions => ({
  command: [
    "/bin/sh",
    "-c",
    `trap 'while [ ! -e ${GATE} ]; do sleep 0.1; done; exit 0' TERM; i=0; while true; do i=$((i+1)); echo "${marker} $i"; sleep 1; done`,
  ],
  startsecs: 1,
  stopwaitsecs: 240,
});

describe.skipIf(!info)(`faults (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const fx = new Fixture(host);
  const others: Project[] = [];
  afterAll(() => {
    // Other projects' state knows the instances too: never destroy through them, just drop them.
    for (const p of others) p.remove();
    openGate();
    fx.cleanup();
    closeGate();
  });
  /** The state supervisord gives the jaws ticker now. */
  const tickerState = () => instanceState("jaws").processes[`${GROUP}:ticker`]?.state;
  const dirOf = (role: TestUserRole) => instanceDir(role);
  const leftovers = (role: TestUserRole) =>
    listFiles(dirOf(role)).filter((f) => /\.new\.\d+$|\.tmp\.\d+$|\/\.deploy\/in-progress$|\/secret\/key\.new$/.test(f));
  /** What a converged instance looks like: what the model says, nothing half-done left. */
  const expectConverged = (s: Snapshot, role: TestUserRole, variant: Variant) => {
    const states = Object.fromEntries(Object.entries(s.processes).filter(([k]) => k.startsWith(`${role} `)));
    expect(Object.keys(states).sort()).toEqual(
      Object.keys(variant[role].services)
        .map((n) => `${role} ${GROUP}:${n}`)
        .sort(),
    );
    for (const [k, p] of Object.entries(states)) {
      const oneShot = variant[role].services[k.split(":")[1]]?.oneShot;
      expect(`${k} ${p.state}`).toBe(`${k} ${oneShot ? "EXITED" : "RUNNING"}`);
    }
    expect(leftovers(role)).toEqual([]);
    expect(fx.project.plan(role).code, "terraform plan after convergence").toBe(0);
  };

  describe("a deploy interrupted half-way: the next deploy converges", () => {
    const stopPhase = async (run: Running) => {
      await run.waitForLine(/stopping changed or removed programs: ticker/, 120_000);
      // The old ticker got its TERM (its trap waits for the gate): the deploy waits inside `jawsctl stop-programs`.
      await waitFor("the old ticker stopping", () => tickerState() === "STOPPING", 30_000);
      expect(procScan((argv) => /-m jawsctl .*stop-programs/.test(argv.join(" "))).length).toBeGreaterThan(0);
    };
    const a = variantWith((v) => (v.jaws.services.ticker = gatedStop("jaws-slow-a")));
    const b = variantWith((v) => (v.jaws.services.ticker = slowStop("jaws-slow-b")));

    // Where the deploy is cut: in the stop phase (the old ticker is stopping), or after the new files
    // are installed but before the changed program is started (the moment `jawsctl apply` runs).
    const cases = [
      { name: "the SSH session killed in the stop phase (CI job cancelled, network cut)", kill: "ssh", at: "stop" },
      { name: "the deploy process killed (SIGKILL) in the stop phase", kill: "deploy", at: "stop" },
      { name: "the deploy process killed (SIGKILL) after installing the new files, before starting", kill: "deploy", at: "apply" },
    ] as const;
    for (const c of cases) {
      test(c.name, async () => {
        await fx.atBaseline();
        closeGate();
        await fx.project.deploy(a);
        const before = snapshot();
        fx.project.synth(b);
        const run = fx.project.startTerraform("jaws", APPLY);
        let r: Awaited<Running["done"]>;
        let t0: number;
        try {
          await stopPhase(run);
          if (c.at === "apply") {
            openGate();
            // Polled tightly: `jawsctl apply` lives a few hundred milliseconds.
            const applying = (argv: string[]) => argv.includes("jawsctl") && argv.at(-1) === "apply";
            await waitFor("jawsctl apply seen", () => procScan(applying, host.users.jaws.uid).length > 0, 15_000, 0);
          }
          t0 = Date.now();
          if (c.kill === "ssh") {
            const sessions = procScan((argv) => new RegExp(`^sshd: ${host.users.jaws.name}\\b`).test(argv.join(" ")));
            expect(sessions.length).toBeGreaterThan(0);
            killAll(sessions.map((p) => p.pid));
          } else {
            const deploy = procScan((argv) => argv.includes("jawsctl") || argv.some((x) => x.endsWith("/bin/deploy")), host.users.jaws.uid);
            expect(deploy.length).toBeGreaterThan(0);
            killAll(deploy.map((p) => p.pid));
          }
          r = await run.done;
        } finally {
          // The old ticker may stop now (the killed deploy no longer waits for it).
          openGate();
        }
        console.info(`interrupted apply ended ${Date.now() - t0} ms after the kill (exit ${r.code})`);
        expect(r.code).not.toBe(0);
        expect(r.output).not.toMatch(/deploy [0-9a-f]{16} done/);
        // Half-way indeed: the marker is there, the old ticker was stopped, the new one not started.
        await waitFor("the remote deploy gone", () =>
          userProcesses(host.users.jaws.name).every((p) => !/bin\/deploy|-m jawsctl/.test(p.cmd)),
        );
        expect(fs.existsSync(`${dirOf("jaws")}/.deploy/in-progress`)).toBe(true);
        expect(processesMatching("jaws", "jaws-slow-b")).toEqual([]);
        const mid = instanceState("jaws").processes[`${GROUP}:ticker`]?.state;
        console.info(
          `ticker after the interruption: ${mid}; new wrapper installed: ${hostFile("jaws", "bin/ticker.sh").includes("jaws-slow-b")}`,
        );
        expect(mid).not.toBe("RUNNING");
        if (c.at === "apply") expect(hostFile("jaws", "bin/ticker.sh")).toContain("jaws-slow-b");

        const t1 = Date.now();
        const [next] = await fx.project.deploy(b, { roles: ["jaws"] });
        console.info(`converging deploy: ${Date.now() - t1} ms`);
        const after = snapshot();
        expectConverged(after, "jaws", b);
        expectEachOnce("jaws", ["jaws-slow-b ", "GREETING"]);
        expect(processesMatching("jaws", "jaws-slow-a")).toEqual([]);
        expect(hostFile("jaws", "bin/ticker.sh")).toContain("jaws-slow-b");
        // The jtm instance never noticed.
        expect(restartedBetween(before, after).restarted.filter((k) => k.startsWith("jtm "))).toEqual([]);
        expect(next.output).toMatch(/the last deploy did not finish \(deploy [0-9a-f]{16}, started/);
        expect(next.output).toMatch(/supervisord settings changed: controlled restart/);
      });
    }
  });

  test("a program still stopping (stopped by hand) when a deploy restarts it: the deploy waits for it, then starts the new version", async () => {
    await fx.atBaseline();
    const dir = dirOf("jaws");
    closeGate();
    await fx.project.deploy(variantWith((v) => (v.jaws.services.ticker = gatedStop("jaws-slow-c"))));
    const stop = runAsUser("jaws", `nohup ${dir}/bin/supervisorctl stop ${GROUP}:ticker >/dev/null 2>&1 &`);
    expect(stop.code).toBe(0);
    const d = variantWith((v) => (v.jaws.services.ticker = slowStop("jaws-slow-d")));
    let r: Awaited<Running["done"]>;
    let opened: number;
    try {
      await waitFor("the ticker stopping", () => tickerState() === "STOPPING", 30_000);
      fx.project.synth(d);
      const run = fx.project.startTerraform("jaws", APPLY);
      // The deploy reaches its stop phase while the old ticker is still stopping (the gate is closed):
      // it must wait, not start the new version nor finish.
      await run.waitForLine(/stopping changed or removed programs: ticker/, 120_000);
      await waitFor(
        "jawsctl stop-programs waiting",
        () => procScan((argv) => /-m jawsctl .*stop-programs/.test(argv.join(" "))).length > 0,
      );
      expect(tickerState(), "the old ticker when the deploy arrives").toBe("STOPPING");
      expect(processesMatching("jaws", "jaws-slow-d")).toEqual([]);
      expect(run.at(/deploy [0-9a-f]{16} done/)).toBeUndefined();
      opened = Date.now();
      openGate();
      r = await run.done;
    } finally {
      openGate();
    }
    expect(r.code, r.output).toBe(0);
    // It finished only after the old ticker was let go.
    expect(r.lines.find((l) => /deploy [0-9a-f]{16} done/.test(l.line))?.t).toBeGreaterThan(opened);
    expect(r.output).toMatch(/stopping changed or removed programs: ticker/);
    expect(r.output).not.toMatch(/stopped jaws-dev:ticker/); // it was not RUNNING: nothing to stop, only to wait for
    expectConverged(snapshot(), "jaws", d);
    expectEachOnce("jaws", ["jaws-slow-d "]);
    expect(processesMatching("jaws", "jaws-slow-c")).toEqual([]);
  });

  describe("a config that the host's supervisord parser rejects is never installed nor loaded", () => {
    const cases: [string, (v: Variant) => void, RegExp][] = [
      [
        "a program directory missing on the host",
        (v) => (v.jaws.services.ticker = { ...v.jaws.services.ticker, directory: "/nonexistent/jaws-workdir" }),
        /the new config is rejected: missing on this host: ticker: directory \/nonexistent\/jaws-workdir/,
      ],
      [
        "a log file in a directory missing on the host",
        (v) => (v.jaws.services.ticker = { ...v.jaws.services.ticker, stdoutLogfile: "/nonexistent/jaws-logs/ticker.log" }),
        /the new config is rejected by supervisord's parser: .*\/nonexistent\/jaws-logs/,
      ],
    ];
    for (const [what, change, message] of cases) {
      test(what, async () => {
        const before = await fx.atBaseline();
        const files = ["supervisord.conf", "state/programs.json", "bin/ticker.sh"].map((f) => hostFile("jaws", f));
        fx.project.synth(variantWith(change));
        const r = fx.project.apply("jaws");
        expect(r.code).not.toBe(0);
        expect(r.output).toMatch(/checking the new config.* with supervisord's own parser/);
        expect(r.output).toMatch(message);
        expect(r.output).not.toMatch(/stopping|applying the new program config|plan:/);
        expect(["supervisord.conf", "state/programs.json", "bin/ticker.sh"].map((f) => hostFile("jaws", f))).toEqual(files);
        const after = snapshot();
        expect(pidsOf(after)).toEqual(pidsOf(before));
        expect(restartedBetween(before, after)).toEqual(onlyRestarted());
        expect(leftovers("jaws")).toEqual([]);
      });
    }
  });

  describe("health gate failure: automatic rollback, then a clear failure", () => {
    test("a changed program that crashes: its old version runs again, every other PID is kept", async () => {
      const before = await fx.atBaseline();
      const files = ["supervisord.conf", "state/programs.json", "bin/ticker.sh"].map((f) => hostFile("jaws", f));
      fx.project.synth(variantWith((v) => (v.jaws.services.ticker = crasher())));
      const r = fx.project.apply("jaws");
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/health gate failed: jaws-dev:ticker did not start/);
      expect(r.output).toMatch(/last stderr of jaws-dev:ticker ---[\s\S]*crasher: FATAL no such config file/);
      expect(r.output).toMatch(/rolling back to the previous config/);
      expect(r.output).toMatch(/previous config restored and healthy/);
      expect(r.output).toMatch(/ERROR: deploy [0-9a-f]{16} failed its health gate \(see above\); the host runs the previous config/);

      const after = snapshot();
      const diff = restartedBetween(before, after);
      expect(diff).toEqual(onlyRestarted(`jaws ${GROUP}:ticker`));
      expect(after.processes[`jaws ${GROUP}:ticker`].state).toBe("RUNNING");
      expectEachOnce("jaws", ["jaws-tick ", "GREETING"]);
      expect(["supervisord.conf", "state/programs.json", "bin/ticker.sh"].map((f) => hostFile("jaws", f))).toEqual(files);
      expect(leftovers("jaws")).toEqual([]);
    });

    test("an instance-level change with a crashing program: supervisord restarted with the previous config", async () => {
      const before = await fx.atBaseline();
      const conf = hostFile("jaws", "supervisord.conf");
      fx.project.synth(
        variantWith((v) => {
          v.jaws.options = { loglevel: "debug" };
          v.jaws.services.ticker = crasher();
        }),
      );
      const r = fx.project.apply("jaws");
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/health gate failed: jaws-dev:ticker did not start/);
      expect(r.output).toMatch(/rolling back to the previous config[\s\S]*supervisord settings changed: controlled restart/);
      expect(r.output).toMatch(/previous config restored and healthy/);
      const after = snapshot();
      expectBaselineUp(after);
      expect(after.supervisord.jaws).not.toBe(before.supervisord.jaws);
      expect(hostFile("jaws", "supervisord.conf")).toBe(conf);
      expect(restartedBetween(before, after).restarted.filter((k) => k.startsWith("jtm "))).toEqual([]);
      expect(leftovers("jaws")).toEqual([]);
    });
  });

  describe("two deploys of one instance at once (two projects, two states)", () => {
    const loop = (marker: string) => (v: Variant) => {
      v.jaws.services.ticker = { command: shellLoop(marker), startsecs: 1 };
    };
    /** The baseline with a gated ticker deployed: the next deploy (which changes the ticker) is held in its stop phase. */
    const atGatedTicker = async () => {
      await fx.atBaseline();
      closeGate();
      await fx.project.deploy(
        variantWith((v) => (v.jaws.services.ticker = gatedStop("jaws-gated"))),
        { roles: ["jaws"] },
      );
    };

    test("the second waits for the host lock, then proceeds; they never interleave", async () => {
      await atGatedTicker();
      const p2 = new Project(host);
      others.push(p2);
      const v1 = variantWith(loop("jaws-p1"));
      const v2 = variantWith(loop("jaws-p2"));
      fx.project.synth(v1);
      p2.synth(v2);
      p2.init("jaws");

      const first = fx.project.startTerraform("jaws", APPLY);
      let second: Running;
      try {
        // The first holds the host lock, kept in its stop phase by the gate, until the second is seen waiting for it.
        await first.waitForLine(/\[jaws-dev\] stopping changed or removed programs: ticker/, 120_000);
        second = p2.startTerraform("jaws", APPLY);
        await second.waitForLine(/\[jaws-dev\] another deploy of this instance is running/, 120_000);
      } finally {
        openGate();
      }
      const [r1, r2] = await Promise.all([first.done, second.done]);
      expect(r1.code, r1.output).toBe(0);
      expect(r2.code, r2.output).toBe(0);
      expect(r1.output).not.toMatch(/another deploy of this instance is running/);
      expect(r2.output).toMatch(/\[jaws-dev\] another deploy of this instance is running; waiting up to 60s for its lock/);
      // Order: the second waited while the first ran, and started its work once the first was done.
      const firstDone = first.at(/deploy [0-9a-f]{16} done/) as number;
      const secondWaits = second.at(/another deploy of this instance is running/) as number;
      const secondWorks = second.at(/\[jaws-dev\] checking the new config/) as number;
      console.info(`lock: second waited ${secondWorks - secondWaits} ms; first done at ${firstDone}, second started at ${secondWorks}`);
      expect(secondWaits).toBeLessThan(firstDone);
      expect(secondWorks).toBeGreaterThanOrEqual(firstDone);
      // The last one wins, whole: its program runs once, nothing of the first is left.
      const after = snapshot();
      expectBaselineUp(after);
      expectEachOnce("jaws", ["jaws-p2 "]);
      expect(processesMatching("jaws", "jaws-p1")).toEqual([]);
      expect(hostFile("jaws", "bin/ticker.sh")).toContain("jaws-p2");
      expect(leftovers("jaws")).toEqual([]);
    });

    test("with lockTimeoutSeconds 1 the second gives up clearly and changes nothing; run again later, it proceeds", async () => {
      await atGatedTicker();
      const p2 = new Project(host);
      others.push(p2);
      const v3 = variantWith((v) => (v.jaws.options = { lockTimeoutSeconds: 1 }), variantWith(loop("jaws-p3")));
      const v4 = variantWith(loop("jaws-p4"));
      p2.synth(v4);
      p2.init("jaws");
      fx.project.synth(v3);

      const holder = p2.startTerraform("jaws", APPLY);
      let r3: Awaited<Running["done"]>;
      try {
        // The holder keeps the host lock (held in its stop phase by the gate) until the impatient one has given up.
        await holder.waitForLine(/\[jaws-dev\] stopping changed or removed programs: ticker/, 120_000);
        r3 = await fx.project.startTerraform("jaws", APPLY).done;
      } finally {
        openGate();
      }
      expect(r3.code).not.toBe(0);
      expect(r3.output).toMatch(/another deploy of this instance is running; waiting up to 1s for its lock/);
      expect(r3.output).toMatch(
        /ERROR: gave up after 1s waiting for the deploy lock \S+\/\.deploy\/lock \(held by: pid \d+ on \S+ since \S+\)/,
      );
      expect(r3.output).not.toMatch(/checking the new config/);
      const r4 = await holder.done;
      expect(r4.code, r4.output).toBe(0);
      expectEachOnce("jaws", ["jaws-p4 "]);
      expect(hostFile("jaws", "bin/ticker.sh")).toContain("jaws-p4");

      // Nothing holds the lock now: the same apply proceeds.
      const again = fx.project.apply("jaws");
      expect(again.code, again.output).toBe(0);
      expect(again.output).not.toMatch(/another deploy of this instance is running/);
      expectEachOnce("jaws", ["jaws-p3 "]);
      expect(processesMatching("jaws", "jaws-p4")).toEqual([]);
    });
  });

  test("supervisord crashed (SIGKILL): stale pidfile and socket; the next deploy starts cleanly", async () => {
    const before = await fx.atBaseline();
    // jaws: supervisord alone killed, its programs left running. jtm: everything killed, and its
    // pidfile pointing at a live process that is not supervisord (a recycled pid).
    process.kill(before.supervisord.jaws as number, "SIGKILL");
    killAll(userProcesses(host.users.jtm.name).map((p) => p.pid));
    await waitFor("jaws supervisord gone", () => !pidRunning(before.supervisord.jaws as number));
    await waitFor("jtm processes gone", () => userProcesses(host.users.jtm.name).length === 0);
    fs.writeFileSync(`${dirOf("jtm")}/run/supervisord.pid`, "1\n");
    for (const role of ["jaws", "jtm"] as const) {
      const dir = dirOf(role);
      expect(fs.existsSync(`${dir}/run/supervisord.pid`), `${role} pidfile`).toBe(true);
      expect(fs.statSync(`${dir}/run/supervisor.sock`).isSocket(), `${role} socket`).toBe(true);
      const refused = await new Promise<string>((resolve) => {
        const c = net.connect(`${dir}/run/supervisor.sock`);
        c.on("connect", () => resolve("connected"));
        c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      });
      expect(refused, `${role} socket is stale`).toBe("ECONNREFUSED");
    }

    const forced = variantWith((v) => {
      v.jaws.options = { redeployToken: "crash" };
      v.jtm.options = { redeployToken: "crash" };
    });
    const [rj, rt] = await fx.project.deploy(forced);
    expect(rj.output).toMatch(/stopping programs left running by a dead supervisord/);
    for (const r of [rj, rt]) {
      expect(r.output).toMatch(/starting supervisord/);
      expect(r.output).not.toMatch(/already listening|Another program|ERROR/);
    }
    const after = snapshot();
    expectBaselineUp(after);
    for (const role of ["jaws", "jtm"] as const) {
      const dir = dirOf(role);
      expect(Number(fs.readFileSync(`${dir}/run/supervisord.pid`, "utf8"))).toBe(after.supervisord[role]);
      expect(after.supervisord[role]).not.toBe(before.supervisord[role]);
      expect(fs.readFileSync(`${dir}/log/supervisord.start.log`, "utf8")).not.toMatch(/Error|already listening/i);
    }
    expectEachOnce("jaws", ["jaws-tick ", "GREETING"]);
    expectEachOnce("jtm", ["jtm-work ", "GREETING"]);
  });

  describe("the host cannot bootstrap: a clear error naming the cause, the running instance untouched", () => {
    test("pythonCommand missing on the host, the venv gone", async () => {
      await fx.atBaseline();
      const dir = dirOf("jaws");
      // Maintenance wiped the venv under the running supervisord (it keeps running).
      fs.rmSync(`${dir}/venv`, { force: true });
      fs.rmSync(`${dir}/venv-4.2.5`, { recursive: true, force: true });
      const pids = userPidTable("jaws");
      const conf = hostFile("jaws", "supervisord.conf");
      fx.project.synth(
        variantWith((v) => {
          v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-nopython") };
          v.jaws.options = { pythonCommand: "/opt/jaws-missing/bin/python3" };
        }),
      );
      const r = fx.project.apply("jaws");
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(
        /ERROR: bootstrap: \/opt\/jaws-missing\/bin\/python3 not found on \S+ \(PATH=[^)]*\); set pythonCommand or shellPreamble; the running instance \(if any\) is untouched/,
      );
      expect(userPidTable("jaws")).toEqual(pids);
      expect(hostFile("jaws", "supervisord.conf")).toBe(conf);
      expect(fs.existsSync(`${dir}/venv-4.2.5`)).toBe(false);

      // The fixed model bootstraps again; the instance keeps running through it all.
      const [back] = await fx.project.deploy(baseline(), { roles: ["jaws"] });
      expect(back.output).toMatch(/bootstrap: creating venv/);
      expect(back.output).toMatch(/programs unchanged/);
      expect(userPidTable("jaws")).toEqual(pids);
      expectBaselineUp(snapshot());
    });

    test("pip cannot install the pinned supervisor (no index, no find-links)", async () => {
      const before = await fx.atBaseline();
      const dir = dirOf("jaws");
      const pids = userPidTable("jaws");
      fx.project.synth(variantWith((v) => (v.jaws.options = { supervisorVersion: "4.2.4" })));
      const t0 = Date.now();
      const r = fx.project.apply("jaws");
      console.info(`failed bootstrap (ensurepip + pip): ${Date.now() - t0} ms`);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/bootstrap: creating venv \S+venv-4\.2\.4 with supervisor==4\.2\.4/);
      expect(r.output).toMatch(
        /ERROR: bootstrap: pip could not install supervisor==4\.2\.4 \(pip options: --no-index\); check pipIndexUrl, pipFindLinks, pipNoIndex and supervisorVersion; the running instance \(if any\) is untouched/,
      );
      expect(userPidTable("jaws")).toEqual(pids);
      expect(fs.readlinkSync(`${dir}/venv`)).toBe("venv-4.2.5");
      expect(fs.existsSync(`${dir}/venv-4.2.4`)).toBe(false);
      const after = snapshot();
      expect(restartedBetween(before, after)).toEqual(onlyRestarted());
      await fx.project.deploy(baseline(), { roles: ["jaws"] });
      expect(pidsOf(snapshot())).toEqual(pidsOf(before));
    });
  });
});
