/**
 * Tests of the e2e harness itself: the local sshd really enforces what the e2e tests rely on
 * (pinned host key, per-user keys, certificates, sessions countable), and Terraform's ssh
 * connection (plain key, certificate, bastion) works against it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { automationEnv, run } from "../../testkit/commands";
import {
  countSshSessions,
  DEFAULT_PARENT_DIR,
  keygen,
  LOCK_FILE,
  pidRunning,
  resetUserHome,
  runAsUser,
  sshLogOffset,
  sshOptions,
  sshRun,
  startTestHost,
  stopTestHost,
  type TestHostInfo,
  userProcesses,
} from "../../testkit/test-host";
import { useTestHost } from "./use-test-host";

const { info, skipReason } = useTestHost();

function ownerOf(file: string): number {
  return fs.statSync(file).uid;
}

interface TfResult {
  code: number;
  output: string;
}

/** terraform init + apply in `dir`, offline and without the user's CLI config. */
function terraformApply(dir: string, mainTf: string): TfResult {
  fs.writeFileSync(path.join(dir, "main.tf"), mainTf);
  const cliConfig = path.join(dir, "terraformrc");
  fs.writeFileSync(cliConfig, "");
  const env = automationEnv(cliConfig);
  let output = "";
  for (const args of [
    ["init", "-no-color"],
    ["apply", "-auto-approve", "-no-color"],
  ]) {
    const r = run("terraform", args, { cwd: dir, env, timeoutMs: 120_000 });
    output += `$ terraform ${args.join(" ")}\n${r.output}`;
    if (r.code !== 0) return { code: r.code, output };
  }
  return { code: 0, output };
}

/** HCL string literal. */
const hcl = (s: string) => JSON.stringify(s);

describe.skipIf(!info)(`test host${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  const host = info as TestHostInfo;
  const jaws = host?.users.jaws;
  const jtm = host?.users.jtm;
  let tmp = "";

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-host-test-"));
    resetUserHome(host, "jaws");
    resetUserHome(host, "jtm");
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    resetUserHome(host, "jaws");
    resetUserHome(host, "jtm");
  });

  test("info is plain JSON and was written to <dir>/test-host.json", () => {
    const onDisk = JSON.parse(fs.readFileSync(path.join(host.dir, "test-host.json"), "utf8"));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(host)));
    expect(host.host).toBe("127.0.0.1");
    expect(host.hostPublicKey).toMatch(/^ssh-ed25519 \S+$/);
    expect(jaws.publicKey).toMatch(/^ssh-ed25519 \S+$/);
    expect(jaws.name).toBe("jawstest");
    expect(jtm.name).toBe("jawstest_jtm");
    expect(jaws.home).toBe("/home/jawstest");
    expect(jtm.certKeyPath).toBeUndefined();
    expect(fs.existsSync(jaws.certificatePath ?? "")).toBe(true);
  });

  test("ssh login works for both users with the pinned host key", () => {
    for (const [role, user] of [
      ["jaws", jaws],
      ["jtm", jtm],
    ] as const) {
      const r = sshRun(host, role, 'id -un; id -u; echo "$HOME"; echo "$SHELL"');
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.split("\n").slice(0, 4)).toEqual([user.name, String(user.uid), user.home, "/bin/bash"]);
    }
  });

  test("login with a wrong pinned host key fails", () => {
    const otherHostKey = path.join(tmp, "other_host_key");
    keygen(otherHostKey, "other-host");
    const pub = fs.readFileSync(`${otherHostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
    const wrongKnownHosts = path.join(tmp, "wrong_known_hosts");
    fs.writeFileSync(wrongKnownHosts, `[127.0.0.1]:${host.port} ${pub}\n`);
    const before = sshLogOffset(host);
    const r = sshRun({ ...host, knownHostsFile: wrongKnownHosts }, "jaws", "true");
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(countSshSessions(host, before).sessions).toBe(0);
  });

  test("one user's key cannot log in as the other user", () => {
    const a = sshRun(host, "jaws", "true", { loginAs: jtm.name });
    expect(a.code).toBe(255);
    expect(a.stderr).toMatch(/Permission denied/);
    const b = sshRun(host, "jtm", "true", { loginAs: jaws.name });
    expect(b.code).toBe(255);
    expect(b.stderr).toMatch(/Permission denied/);
  });

  test("certificate login works for jawstest, only with the certificate and its principal", () => {
    const ok = sshRun(host, "jaws", "id -un", { useCertificate: true });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe(jaws.name);

    // The cert's key alone is not authorized. Copy it away: ssh would otherwise pick up
    // the adjacent <key>-cert.pub by itself.
    const bare = path.join(tmp, "bare_cert_key");
    fs.copyFileSync(jaws.certKeyPath as string, bare);
    fs.chmodSync(bare, 0o600);
    const noCert = sshRun(host, "jaws", "true", { identityFile: bare });
    expect(noCert.code).toBe(255);
    expect(noCert.stderr).toMatch(/Permission denied/);

    // Principal is jawstest only.
    const otherUser = sshRun(host, "jaws", "true", {
      useCertificate: true,
      loginAs: jtm.name,
    });
    expect(otherUser.code).toBe(255);
  });

  test("an unauthorized key, or one signed by another CA, cannot log in", () => {
    const stranger = path.join(tmp, "stranger");
    keygen(stranger, "stranger");
    const r = sshRun(host, "jaws", "true", { identityFile: stranger });
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);

    const otherCa = path.join(tmp, "other_ca");
    keygen(otherCa, "other-ca");
    const signed = path.join(tmp, "signed_by_other_ca");
    keygen(signed, "signed-by-other-ca");
    const sign = run("ssh-keygen", ["-q", "-s", otherCa, "-I", "x", "-n", jaws.name, "-V", "-5m:+1d", `${signed}.pub`]);
    expect(sign.code, sign.stderr).toBe(0);
    const r2 = sshRun(host, "jaws", "true", {
      identityFile: signed,
      extraSshArgs: ["-o", `CertificateFile=${signed}-cert.pub`],
    });
    expect(r2.code).toBe(255);
    expect(r2.stderr).toMatch(/Permission denied/);
  });

  test("countSshSessions counts exactly the sessions opened (failed logins do not count)", () => {
    const start = sshLogOffset(host);
    const n = 5;
    for (let i = 0; i < n; i++) {
      expect(sshRun(host, i % 2 === 0 ? "jaws" : "jtm", "true").code).toBe(0);
      // Failed attempt in between must not be counted.
      expect(sshRun(host, "jaws", "true", { loginAs: jtm.name }).code).toBe(255);
    }
    expect(sshRun(host, "jaws", "true", { useCertificate: true }).code).toBe(0);
    const c = countSshSessions(host, start);
    expect(c.sessions).toBe(n + 1);
    expect(c.byUser).toEqual({ [jaws.name]: 4, [jtm.name]: 2 });
    // From the returned offset on, nothing new.
    expect(countSshSessions(host, c.offset)).toMatchObject({
      sessions: 0,
      offset: c.offset,
    });
  });

  test("scp (SFTP) puts a file into the home, owned by the user", () => {
    const local = path.join(tmp, "payload.txt");
    fs.writeFileSync(local, "payload\n");
    const r = run("scp", [
      ...sshOptions(host),
      "-P",
      String(host.port),
      "-i",
      jtm.privateKeyPath,
      local,
      `${jtm.name}@${host.host}:payload.txt`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const remote = path.join(jtm.home, "payload.txt");
    expect(fs.readFileSync(remote, "utf8")).toBe("payload\n");
    expect(ownerOf(remote)).toBe(jtm.uid);
  });

  test("runAsUser runs locally as the user in its home", () => {
    const r = runAsUser("jtm", "id -un; pwd");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${jtm.name}\n${jtm.home}\n`);
  });

  test("processes started over ssh are visible and killed by resetUserHome", () => {
    const marker = "987654";
    const r = sshRun(
      host,
      "jtm",
      // Detach fully (own session, no inherited fds) or ssh waits for the sleep to end.
      `mkdir -p ~/.ssh ~/junk && touch ~/.ssh/keep ~/junk/file ~/.hidden; setsid sleep ${marker} </dev/null >/dev/null 2>&1 &`,
      { timeoutMs: 15_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const procs = userProcesses(jtm.name);
    expect(procs.some((p) => p.cmd === `sleep ${marker}`)).toBe(true);
    expect(userProcesses(jaws.name).some((p) => p.cmd.includes(marker))).toBe(false);

    resetUserHome(host, "jtm");
    expect(userProcesses(jtm.name)).toEqual([]);
    expect(fs.readdirSync(jtm.home)).toEqual([".ssh"]);
    expect(fs.existsSync(path.join(jtm.home, ".ssh", "keep"))).toBe(true);
    // Still usable afterwards.
    expect(sshRun(host, "jtm", "true").code).toBe(0);
  });

  describe("terraform ssh connection", () => {
    /**
     * terraform init + apply of one resource whose `connection` goes to the test host, as jaws with its
     * key unless overridden (values are HCL), running `provisioners` (HCL).
     */
    const applyWith = (overrides: Record<string, string>, provisioners: string): TfResult => {
      const attrs: Record<string, string> = {
        type: hcl("ssh"),
        host: hcl(host.host),
        port: String(host.port),
        user: hcl(jaws.name),
        private_key: `file(${hcl(jaws.privateKeyPath)})`,
        host_key: hcl(host.hostPublicKey),
        timeout: hcl("30s"),
        ...overrides,
      };
      const connection = Object.entries(attrs).map(([k, v]) => `${k} = ${v}`);
      const resource = `resource "terraform_data" "r" {\nconnection {\n${connection.join("\n")}\n}\n${provisioners}\n}\n`;
      return terraformApply(fs.mkdtempSync(path.join(tmp, "tf-")), resource);
    };
    /** A remote-exec provisioner running `lines` (a JSON list of strings is an HCL list). */
    const remoteExec = (...lines: string[]) => `provisioner "remote-exec" {\ninline = ${JSON.stringify(lines)}\n}`;

    test("file + remote-exec with private_key and host_key", () => {
      const src = path.join(tmp, "tf-payload.txt");
      fs.writeFileSync(src, "hello from terraform\n");
      const start = sshLogOffset(host);
      const remote = `/tmp/jaws-tf-payload-${host.port}.txt`;
      const tf = applyWith(
        {},
        `provisioner "file" {\nsource = ${hcl(src)}\ndestination = ${hcl(remote)}\n}\n` +
          remoteExec(`cat ${remote} > ${jaws.home}/tf-payload.txt`, `rm ${remote}`, `id -un >> ${jaws.home}/tf-payload.txt`),
      );
      expect(tf.code, tf.output).toBe(0);
      const out = path.join(jaws.home, "tf-payload.txt");
      expect(fs.readFileSync(out, "utf8")).toBe(`hello from terraform\n${jaws.name}\n`);
      expect(ownerOf(out)).toBe(jaws.uid);
      const sessions = countSshSessions(host, start);
      console.info(`terraform file + remote-exec opened ${sessions.sessions} ssh session(s)`);
      expect(sessions.byUser[jaws.name]).toBeGreaterThanOrEqual(1);
    });

    test("remote-exec alone uploads and runs its script over one SSH session, makes it 0777, leaves an empty file", () => {
      // What the deploy relies on (one session per change) and what the README's security model
      // warns about (the script is world-writable while it runs).
      const start = sshLogOffset(host);
      const tf = applyWith(
        { script_path: hcl("./.tf-exec-check-%RAND%.sh") },
        remoteExec("#!/bin/bash", `stat -c %a "$0" > ${jaws.home}/tf-mode.txt; rm -f -- "$0"`),
      );
      expect(tf.code, tf.output).toBe(0);
      expect(fs.readFileSync(path.join(jaws.home, "tf-mode.txt"), "utf8")).toBe("777\n");
      expect(countSshSessions(host, start).byUser).toEqual({ [jaws.name]: 1 });
      // The script deleted itself; Terraform then uploads an empty file to blank "the script" (under a
      // new %RAND% name): that empty file is all that stays behind.
      const left = fs.readdirSync(jaws.home).filter((f) => f.startsWith(".tf-exec-check-"));
      expect(left).toHaveLength(1);
      expect(fs.statSync(path.join(jaws.home, left[0])).size).toBe(0);
    });

    test("a wrong host_key makes terraform fail", () => {
      const tf = applyWith({ host_key: hcl(jtm.publicKey), timeout: hcl("2s") }, remoteExec(`touch ${jaws.home}/must-not-exist`));
      expect(tf.code).not.toBe(0);
      expect(tf.output).toMatch(/host key|handshake/i);
      expect(fs.existsSync(path.join(jaws.home, "must-not-exist"))).toBe(false);
    });

    test("certificate authentication", () => {
      const start = sshLogOffset(host);
      const tf = applyWith(
        { private_key: `file(${hcl(jaws.certKeyPath as string)})`, certificate: `file(${hcl(jaws.certificatePath as string)})` },
        remoteExec(`id -un > ${jaws.home}/tf-cert.txt`),
      );
      expect(tf.code, tf.output).toBe(0);
      const out = path.join(jaws.home, "tf-cert.txt");
      expect(fs.readFileSync(out, "utf8")).toBe(`${jaws.name}\n`);
      expect(ownerOf(out)).toBe(jaws.uid);
      const log = fs.readFileSync(host.sshdLog).subarray(start).toString("utf8");
      expect(log).toMatch(/Accepted publickey for jawstest from .* ED25519-CERT/);
    });

    test("bastion: jawstest as bastion, jumping to jawstest_jtm", () => {
      const start = sshLogOffset(host);
      const tf = applyWith(
        {
          user: hcl(jtm.name),
          private_key: `file(${hcl(jtm.privateKeyPath)})`,
          bastion_host: hcl(host.host),
          bastion_port: String(host.port),
          bastion_user: hcl(jaws.name),
          bastion_private_key: `file(${hcl(jaws.privateKeyPath)})`,
          bastion_host_key: hcl(host.hostPublicKey),
        },
        `provisioner "file" {\ncontent = "via bastion\\n"\ndestination = ${hcl(`${jtm.home}/tf-bastion.txt`)}\n}\n` +
          remoteExec(`id -un >> ${jtm.home}/tf-bastion.txt`),
      );
      expect(tf.code, tf.output).toBe(0);
      const out = path.join(jtm.home, "tf-bastion.txt");
      expect(fs.readFileSync(out, "utf8")).toBe(`via bastion\n${jtm.name}\n`);
      expect(ownerOf(out)).toBe(jtm.uid);
      const c = countSshSessions(host, start);
      console.info(`terraform via bastion: ssh logins per user ${JSON.stringify(c.byUser)}`);
      expect(c.byUser[jaws.name]).toBeGreaterThanOrEqual(1);
      expect(c.byUser[jtm.name]).toBeGreaterThanOrEqual(1);
    });
  });

  describe("lifecycle", () => {
    test("refuses a parent dir that sshd StrictModes would reject", async () => {
      await expect(startTestHost({ dir: path.join(tmp, "x") })).rejects.toThrow(/StrictModes/);
    });

    test("a second run's host waits for the machine-wide lock, then fails clearly", async (ctx) => {
      // Under pool "threads" the worker shares the lock holder's pid and would take the lock over.
      if (Number(fs.readFileSync(LOCK_FILE, "utf8").trim()) === process.pid) ctx.skip();
      const t0 = Date.now();
      await expect(startTestHost({ lockTimeoutMs: 1_000 })).rejects.toThrow(/another test host is active/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
      expect(sshRun(host, "jaws", "true").code).toBe(0);
    });

    test("a second host starts (users already exist) and stops cleanly", async () => {
      fs.mkdirSync(DEFAULT_PARENT_DIR, { recursive: true, mode: 0o755 });
      const parent = fs.mkdtempSync(path.join(DEFAULT_PARENT_DIR, "nested-"));
      fs.chmodSync(parent, 0o755);
      try {
        // lock: false: the vitest main process holds the lock for the global host.
        const second = await startTestHost({ dir: parent, lock: false });
        expect(second.port).not.toBe(host.port);
        expect(sshRun(second, "jtm", "id -un").stdout.trim()).toBe(jtm.name);
        const pid = Number(fs.readFileSync(second.sshdPidFile, "utf8").trim());
        expect(pidRunning(pid)).toBe(true);
        stopTestHost(second);
        expect(fs.existsSync(second.dir)).toBe(false);
        // Gone, or a zombie our init may never reap.
        expect(pidRunning(pid)).toBe(false);
        // The shared host is unaffected.
        expect(sshRun(host, "jaws", "true").code).toBe(0);
      } finally {
        fs.rmSync(parent, { recursive: true, force: true });
      }
    });
  });
});
