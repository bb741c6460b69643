/**
 * Security on the test host: the key of each instance never leaves the host (nothing in
 * cdktf.out, state, or the output of synth, diff, deploy, destroy; nothing in the environment or
 * command line of any process), key rotation in one step, and privilege separation between the
 * two instances' users (files, socket, control endpoint with a wrong or missing key, inet bound to
 * 127.0.0.1 only).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, onTestFinished, test } from "vitest";
import type { RunResult } from "../../testkit/commands";
import { restartedBetween, snapshot, supervisordPid } from "../../testkit/processes";
import {
  freeStablePort,
  pidRunning,
  ROLES,
  runAsUser,
  sshRun,
  type TestHostInfo,
  type TestUserRole,
  userProcesses,
} from "../../testkit/test-host";
import { baseline, GROUP, instanceDir, shellLoop } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { expectBaselineUp, Fixture, hostFile, listFiles, onlyRestarted, pidsOf, variantWith, waitFor } from "./support/fixture";

/**
 * XML-RPC `supervisor.getState` against the instance's control endpoint, as `role`, with the given
 * credentials (or none): "ok", "401" (refused for its credentials), or the error text.
 */
function probe(role: TestUserRole, serverUrl: string, credentials?: { user: string; password: string }): string {
  const script = [
    "import xmlrpc.client",
    "from supervisor import xmlrpc as sx",
    `t = sx.SupervisorTransport(${JSON.stringify(credentials?.user ?? "")} or None, ${JSON.stringify(credentials?.password ?? "")} or None, ${JSON.stringify(serverUrl)})`,
    "try:",
    "    xmlrpc.client.ServerProxy('http://127.0.0.1', transport=t).supervisor.getState(); print('ok')",
    "except xmlrpc.client.ProtocolError as e:",
    "    print(e.errcode)",
    "except Exception as e:",
    "    print('%s: %s' % (type(e).__name__, e))",
  ].join("\n");
  // Debian's python sees supervisor; the instance's venv may be unreadable to `role`.
  const r = runAsUser(role, "/usr/bin/python3 -", { input: script });
  return (r.stdout.trim() || r.stderr.trim()).split("\n").pop() ?? "";
}

/** The password in a supervisorctl.conf text. */
const passwordOf = (ctlConf: string) => /^password=(.*)$/m.exec(ctlConf)?.[1] ?? "";

/** Mode bits of a host path as an octal string ("700"). */
const modeOf = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

/** Paths under `dir` (but not under `skipDir`) of the files whose bytes contain any of `needles`; throws when one cannot be read. */
function filesContaining(dir: string, needles: string[], skipDir = "\0"): string[] {
  const bufs = needles.filter(Boolean).map((n) => Buffer.from(n));
  return listFiles(dir).filter(
    (p) => p !== skipDir && !p.startsWith(`${skipDir}/`) && fs.lstatSync(p).isFile() && bufs.some((n) => fs.readFileSync(p).includes(n)),
  );
}

/** The instance's current key and its `{SHA}` hash (read as root on the host). */
function instanceSecrets(role: TestUserRole): { key: string; hash: string } {
  const dir = instanceDir(role);
  const key = fs.readFileSync(`${dir}/secret/key`, "utf8").trim();
  const hash = /password=(\{SHA\}[0-9a-f]{40})/.exec(fs.readFileSync(`${dir}/secret/auth.conf`, "utf8"))?.[1] ?? "";
  if (key.length < 32 || !hash) throw new Error(`no key or hash for ${role} in ${dir}/secret`);
  return { key, hash };
}

const { info, skipReason } = useTestHost();

describe.skipIf(!info)(`security (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const fx = new Fixture(host);
  afterAll(() => fx.cleanup());
  const timed = <T>(label: string, f: () => T): T => {
    const t0 = Date.now();
    try {
      return f();
    } finally {
      console.info(`${label}: ${Date.now() - t0} ms`);
    }
  };

  test("secrets: no key and no {SHA} hash in cdktf.out, the state, or the output of synth, diff, deploy, destroy; none in any process's environment or command line", {
    timeout: 900_000,
  }, async () => {
    fx.fromNothing();
    const p = fx.project;
    const outputs: Record<string, RunResult> = {};
    const cdktf = (label: string, v = baseline(), ...args: string[]) => {
      const r = timed(`cdktf ${args.join(" ")}`, () => p.cdktf(v, args));
      outputs[label] = r;
      expect(r.code, `${label}:\n${r.output}`).toBe(0);
      return r;
    };
    const changed = variantWith((v) => {
      v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-tick-s1") };
    });

    cdktf("synth", baseline(), "synth");
    cdktf("diff jaws (first)", baseline(), "diff", "jaws-testhost");
    cdktf("deploy both", baseline(), "deploy", "jaws-testhost", "jtm-testhost", "--auto-approve");
    expectBaselineUp(snapshot());
    // The keys exist from here on: every later output could leak them.
    const secrets = Object.fromEntries(ROLES.map((r) => [r, instanceSecrets(r)]));
    cdktf("diff jaws (a change)", changed, "diff", "jaws-testhost");
    expect(outputs["diff jaws (a change)"].output).toContain("jaws-tick-s1");
    cdktf("deploy jaws (a change)", changed, "deploy", "jaws-testhost", "--auto-approve");
    cdktf("diff jtm (no change)", changed, "diff", "jtm-testhost");
    expect(outputs["deploy jaws (a change)"].output).toMatch(/deploy [0-9a-f]{16} done/);
    // Terraform's own commands, as an operator would run them.
    outputs["terraform plan"] = p.plan("jaws");
    outputs["terraform show"] = p.terraform("jaws", ["show"]);
    outputs["terraform output"] = p.terraform("jaws", ["output"]);
    // The key did not change during the deploys.
    for (const role of ROLES) expect(instanceSecrets(role)).toEqual(secrets[role]);

    const needles = ROLES.flatMap((r) => [secrets[r].key, secrets[r].hash, secrets[r].hash.slice(5)]);
    // Every process of both users (supervisord, wrappers, programs): environment and command line.
    let processesChecked = 0;
    for (const role of ROLES) {
      for (const proc of userProcesses(host.users[role].name)) {
        for (const f of ["environ", "cmdline"]) {
          let text = "";
          try {
            text = fs.readFileSync(`/proc/${proc.pid}/${f}`, "utf8");
          } catch {
            continue; // gone meanwhile
          }
          for (const n of needles) expect(text.includes(n), `/proc/${proc.pid}/${f} (${proc.cmd})`).toBe(false);
        }
        processesChecked++;
      }
    }
    expect(processesChecked).toBeGreaterThanOrEqual(8);
    // On the host, the key is only in secret/ (not in logs, bundles, Terraform's scripts, backups).
    for (const role of ROLES) {
      const home = host.users[role].home;
      const hits = filesContaining(home, needles, path.join(instanceDir(role), "secret"));
      expect(hits, `files of ${home} holding a key`).toEqual([]);
    }

    // The state as it is while the instances run (destroy empties it; its .backup keeps this one).
    expect(filesContaining(p.dir, needles), "project files holding a key before destroy").toEqual([]);
    cdktf("destroy both", changed, "destroy", "jaws-testhost", "jtm-testhost", "--auto-approve");
    await waitFor("no process of either user", () => ROLES.every((r) => userProcesses(host.users[r].name).length === 0));

    const outputHits = Object.entries(outputs)
      .filter(([, r]) => needles.some((n) => r.output.includes(n)))
      .map(([k]) => k);
    const fileHits = filesContaining(p.dir, needles);
    const files = listFiles(p.dir);
    const stateFiles = files.filter((f) => /\.tfstate(\.backup)?$/.test(f));
    console.info(
      `S1 figures: ${Object.keys(outputs).length} captured outputs (${Object.values(outputs).reduce((n, r) => n + r.output.length, 0)} bytes), ` +
        `${files.length} files under the project (cdktf.out, ${stateFiles.length} state files), ` +
        `${processesChecked} processes: secrets found = ${outputHits.length + fileHits.length}`,
    );
    expect(stateFiles.length).toBeGreaterThanOrEqual(2);
    expect(outputHits).toEqual([]);
    expect(fileHits).toEqual([]);
    expect(fs.existsSync(path.join(p.dir, "cdktf.out", "stacks", "jaws-testhost", "cdk.tf.json"))).toBe(true);
  });

  describe("key rotation in one step: bin/ensure --rotate-key", () => {
    test("the old key is refused at once, the new one works, no program restarts; later deploys and restarts keep the new key", async () => {
      const before = await fx.atBaseline();
      const dir = instanceDir("jaws");
      const url = `unix://${dir}/run/supervisor.sock`;
      const user = "jaws-dev";
      const oldKey = instanceSecrets("jaws");
      const oldCtl = hostFile("jaws", "secret/supervisorctl.conf");
      // A copy of the old client config, as an operator or a leaked file would have it.
      runAsUser("jaws", `cp -p ${dir}/secret/supervisorctl.conf ~/old-supervisorctl.conf`);
      expect(probe("jaws", url, { user, password: oldKey.key })).toBe("ok");

      const t0 = Date.now();
      const r = sshRun(host, "jaws", `${dir}/bin/ensure --rotate-key`);
      console.info(`rotation over ssh: ${Date.now() - t0} ms`);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/rotating the access key/);
      expect(r.stdout).toMatch(/key rotated: supervisord accepts the new key only \(no restart\)/);
      const newKey = instanceSecrets("jaws");
      expect(newKey.key).not.toBe(oldKey.key);
      expect(newKey.hash).not.toBe(oldKey.hash);
      expect(r.stdout + r.stderr).not.toContain(newKey.key);
      expect(r.stdout + r.stderr).not.toContain(oldKey.key);
      for (const f of ["secret/key", "secret/auth.conf", "secret/supervisorctl.conf"]) expect(modeOf(`${dir}/${f}`), f).toBe("600");
      expect(passwordOf(hostFile("jaws", "secret/supervisorctl.conf"))).toBe(newKey.key);
      expect(fs.existsSync(`${dir}/secret/key.new`)).toBe(false);

      // Old key: refused by XML-RPC and by supervisorctl with the old config copy.
      expect(probe("jaws", url, { user, password: oldKey.key })).toBe("401");
      const old = runAsUser("jaws", `${dir}/venv/bin/supervisorctl -c ~/old-supervisorctl.conf status`);
      expect(old.code).not.toBe(0);
      expect(old.stdout + old.stderr).toMatch(/Server requires authentication/);
      expect(passwordOf(oldCtl)).toBe(oldKey.key);
      // New key: works.
      expect(probe("jaws", url, { user, password: newKey.key })).toBe("ok");
      const now = runAsUser("jaws", `${dir}/bin/supervisorctl status ${GROUP}:ticker`);
      expect(now.code, now.stdout + now.stderr).toBe(0);
      expect(now.stdout).toMatch(new RegExp(`${GROUP}:ticker\\s+RUNNING`));
      // Nothing restarted, the other instance untouched.
      const after = snapshot();
      expect(restartedBetween(before, after)).toEqual(onlyRestarted());
      expect(instanceSecrets("jtm").key).not.toBe(newKey.key);

      // A program change and an instance-level change (restart from auth.conf): the new key stays.
      await fx.project.deploy(variantWith((v) => (v.jaws.services.ticker = { ...v.jaws.services.ticker, command: shellLoop("jaws-rot") })));
      await fx.project.deploy(variantWith((v) => (v.jaws.options = { loglevel: "debug" })));
      expect(snapshot().supervisord.jaws).not.toBe(before.supervisord.jaws);
      expect(instanceSecrets("jaws")).toEqual(newKey);
      expect(probe("jaws", url, { user, password: newKey.key })).toBe("ok");
      expect(probe("jaws", url, { user, password: oldKey.key })).toBe("401");
    });

    test("a supervisord started before live rotation existed (its extension without setCredentials): a controlled restart loads the new key", async () => {
      // This test breaks the instance on purpose (an older extension): rebuilt from nothing after it, passed or failed.
      onTestFinished(() => fx.fromNothing());
      await fx.atBaseline();
      const dir = instanceDir("jtm");
      const url = `unix://${dir}/run/supervisor.sock`;
      // Run the instance with the extension as it was (API 1, no setCredentials): supervisord loads
      // it from the deployed package (lib/ is on the venv's path), its only copy.
      const ext = `${dir}/lib/jawsctl/rpc_extension.py`;
      const v1 = fs
        .readFileSync(ext, "utf8")
        .replace('API_VERSION = "2"', 'API_VERSION = "1"')
        .replace(/\n {4}def setCredentials[\s\S]*?return True\n/, "\n");
      fs.writeFileSync(ext, v1);
      expect(fs.readFileSync(ext, "utf8")).not.toContain("def setCredentials");
      // Shut down, and gone (polled, not slept on) before ensure starts it again with the old extension.
      const old = supervisordPid("jtm") as number;
      expect(old).toBeGreaterThan(1);
      const shutdown = runAsUser("jtm", `${dir}/bin/supervisorctl shutdown`);
      expect(shutdown.code, shutdown.output).toBe(0);
      await waitFor(`supervisord ${old} gone`, () => !pidRunning(old), 60_000);
      const restart = runAsUser("jtm", `${dir}/bin/ensure`);
      expect(restart.code, restart.stdout + restart.stderr).toBe(0);
      expect(restart.stdout).toMatch(/supervisord was not running: started/);
      const before = snapshot();
      const oldKey = instanceSecrets("jtm");

      const r = sshRun(host, "jtm", `${dir}/bin/ensure --rotate-key`);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/cannot change its key in place \(extension API 1\)/);
      expect(r.stdout).toMatch(/controlled restart to load the new key/);
      expect(r.stdout).toMatch(/health: 3 process\(es\) up/);
      const newKey = instanceSecrets("jtm");
      expect(newKey.key).not.toBe(oldKey.key);
      expect(probe("jtm", url, { user: "jtm-dev", password: oldKey.key })).toBe("401");
      expect(probe("jtm", url, { user: "jtm-dev", password: newKey.key })).toBe("ok");
      const after = snapshot();
      expectBaselineUp(after);
      expect(after.supervisord.jtm).not.toBe(before.supervisord.jtm);
    });

    test("a rotation interrupted after supervisord took the new key: the next ensure finishes it, no restart", async () => {
      const before = await fx.atBaseline();
      const dir = instanceDir("jaws");
      const url = `unix://${dir}/run/supervisor.sock`;
      const oldKey = instanceSecrets("jaws");
      // What rotate-key does up to its crash point: key.new written, supervisord switched.
      const k2 = "ab".repeat(32);
      const script = [
        "from jawsctl import connection, credentials", // lib/ is on the venv's path
        `d = ${JSON.stringify(dir)}`,
        `credentials.write_private(d + '/secret/key.new', ${JSON.stringify(k2)} + '\\n')`,
        `connection.proxy(d, ${JSON.stringify(oldKey.key)}).jawsdeploy.setCredentials('jaws-dev', credentials.key_hash(${JSON.stringify(k2)}))`,
      ].join("\n");
      const crash = runAsUser("jaws", `${dir}/venv/bin/python -`, { input: script });
      expect(crash.code, crash.stderr).toBe(0);
      expect(probe("jaws", url, { user: "jaws-dev", password: oldKey.key })).toBe("401");
      const stale = runAsUser("jaws", `${dir}/bin/supervisorctl status ${GROUP}:ticker`); // the files still hold the old key
      expect(stale.stdout + stale.stderr).toMatch(/Server requires authentication/);

      const r = sshRun(host, "jaws", `${dir}/bin/ensure`);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/finished an interrupted key rotation/);
      expect(r.stdout).toMatch(/supervisord is running/);
      expect(instanceSecrets("jaws").key).toBe(k2);
      expect(runAsUser("jaws", `${dir}/bin/supervisorctl status ${GROUP}:ticker`).code).toBe(0);
      expect(pidsOf(snapshot())).toEqual(pidsOf(before));
      // Leave a fresh random key behind.
      expect(sshRun(host, "jaws", `${dir}/bin/ensure --rotate-key`).code).toBe(0);
    });
  });

  describe("privilege separation between the two users", () => {
    test("modes and owners; the jtm user reads no jaws config, key or bundle and cannot reach the jaws socket; a wrong or missing key is refused", async () => {
      await fx.atBaseline();
      const jaws = host.users.jaws;
      const dir = instanceDir("jaws");
      const url = `unix://${dir}/run/supervisor.sock`;
      const key = instanceSecrets("jaws");
      expect(modeOf(dir)).toBe("700");
      expect(modeOf(`${dir}/secret`)).toBe("700");
      expect(modeOf(`${dir}/supervisord.conf`)).toBe("600");
      for (const f of ["key", "auth.conf", "supervisorctl.conf"]) expect(modeOf(`${dir}/secret/${f}`), f).toBe("600");
      for (const f of fs.readdirSync(`${dir}/bin`)) expect(modeOf(`${dir}/bin/${f}`), `bin/${f}`).toBe("700");
      const sock = fs.statSync(`${dir}/run/supervisor.sock`);
      expect(sock.isSocket()).toBe(true);
      expect([sock.uid, (sock.mode & 0o777).toString(8)]).toEqual([jaws.uid, "700"]);
      // Everything in the instance directory belongs to its user.
      const foreign = listFiles(dir).filter((f) => fs.lstatSync(f).uid !== jaws.uid);
      expect(foreign).toEqual([]);

      // As the jtm user: no file of the jaws instance, no deploy bundle with its config.
      for (const f of ["supervisord.conf", "secret/key", "secret/auth.conf", "secret/supervisorctl.conf", "bin/supervisorctl"]) {
        const r = runAsUser("jtm", `cat ${dir}/${f}`);
        expect(r.code, f).not.toBe(0);
        expect(r.stderr, f).toMatch(/Permission denied/);
      }
      const readable = runAsUser("jtm", `find ${jaws.home} -type f -readable 2>/dev/null`).stdout.split("\n").filter(Boolean);
      expect(readable.filter((f) => f.startsWith(`${dir}/`))).toEqual([]);
      const revealing = readable.filter(
        (f) => /\[program:|\[supervisord\]/.test(fs.readFileSync(f, "utf8")) || fs.readFileSync(f, "utf8").includes(key.key),
      );
      expect(revealing, "jaws files the jtm user can read that hold a config or the key").toEqual([]);
      const connect = runAsUser(
        "jtm",
        `/usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("${dir}/run/supervisor.sock")'`,
      );
      expect(connect.code).not.toBe(0);
      expect(connect.stderr).toMatch(/PermissionError/);
      expect(probe("jtm", url, { user: "jaws-dev", password: key.key })).toMatch(/PermissionError|Permission denied/);
      const ctl = runAsUser("jtm", `${dir}/bin/supervisorctl status`);
      expect(ctl.code).not.toBe(0);

      // As the jaws user itself: the socket answers only to the key.
      expect(probe("jaws", url)).toBe("401");
      expect(probe("jaws", url, { user: "jaws-dev", password: "0".repeat(64) })).toBe("401");
      expect(probe("jaws", url, { user: "jtm-dev", password: instanceSecrets("jtm").key })).toBe("401");
      expect(probe("jaws", url, { user: "jaws-dev", password: key.hash })).toBe("401"); // the hash is not the key
      expect(probe("jaws", url, { user: "jaws-dev", password: key.key })).toBe("ok");
      const anon = runAsUser("jaws", `${dir}/venv/bin/supervisorctl -s ${url} status`);
      expect(anon.code).not.toBe(0);
      expect(anon.stdout + anon.stderr).toMatch(/Server requires authentication/);
      const wrong = runAsUser("jaws", `${dir}/venv/bin/supervisorctl -s ${url} -u jaws-dev -p wrong status`);
      expect(wrong.stdout + wrong.stderr).toMatch(/Server requires authentication/);
    });

    test("inet endpoint: bound to 127.0.0.1 only; any local user can connect, but a wrong or missing key is refused; rotation works there too", async () => {
      const before = await fx.atBaseline();
      const port = await freeStablePort();
      await fx.project.deploy(variantWith((v) => (v.jaws.options = { inetPort: port })));
      const dir = instanceDir("jaws");
      const url = `http://127.0.0.1:${port}`;
      const key = instanceSecrets("jaws");

      // Listening sockets on that port: exactly one, 127.0.0.1, owned by the jaws supervisord.
      const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
      const listening = (file: string) =>
        fs
          .readFileSync(file, "utf8")
          .split("\n")
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f.length > 3 && f[1].endsWith(`:${hexPort}`) && f[3] === "0A")
          .map((f) => f[1]);
      expect(listening("/proc/net/tcp")).toEqual([`0100007F:${hexPort}`]);
      expect(fs.existsSync("/proc/net/tcp6") ? listening("/proc/net/tcp6") : []).toEqual([]);
      const sd = snapshot().supervisord.jaws as number;
      const inode = fs
        .readFileSync("/proc/net/tcp", "utf8")
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .find((f) => f[1] === `0100007F:${hexPort}` && f[3] === "0A")?.[9];
      const fds = fs.readdirSync(`/proc/${sd}/fd`).map((fd) => {
        try {
          return fs.readlinkSync(`/proc/${sd}/fd/${fd}`);
        } catch {
          return "";
        }
      });
      expect(fds).toContain(`socket:[${inode}]`);
      expect(fs.existsSync(`${dir}/run/supervisor.sock`)).toBe(false);

      // Another local user reaches the port (TCP has no file mode) but not supervisord.
      expect(probe("jtm", url)).toBe("401");
      expect(probe("jtm", url, { user: "jaws-dev", password: "f".repeat(64) })).toBe("401");
      expect(probe("jtm", url, { user: "jaws-dev", password: key.hash })).toBe("401");
      const anon = runAsUser("jtm", `/usr/bin/supervisorctl -s ${url} status`);
      expect(anon.stdout + anon.stderr).toMatch(/Server requires authentication/);
      expect(probe("jaws", url, { user: "jaws-dev", password: key.key })).toBe("ok");

      // Rotation on the inet endpoint.
      const r = sshRun(host, "jaws", `${dir}/bin/ensure --rotate-key`);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const newKey = instanceSecrets("jaws");
      expect(probe("jaws", url, { user: "jaws-dev", password: key.key })).toBe("401");
      expect(probe("jaws", url, { user: "jaws-dev", password: newKey.key })).toBe("ok");
      expect(runAsUser("jaws", `${dir}/bin/supervisorctl status ${GROUP}:ticker`).stdout).toMatch(/RUNNING/);

      // Back to the unix socket, with the rotated key.
      await fx.project.deploy(baseline());
      expect(instanceSecrets("jaws").key).toBe(newKey.key);
      expect(probe("jaws", `unix://${dir}/run/supervisor.sock`, { user: "jaws-dev", password: newKey.key })).toBe("ok");
      expect(listening("/proc/net/tcp")).toEqual([]);
      expect(restartedBetween(before, snapshot()).supervisordRestarted).toEqual(["jaws"]);
    });
  });
});
