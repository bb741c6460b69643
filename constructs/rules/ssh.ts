import type { SshEndpoint } from "../model/instance";
import { Checks, HOSTNAME, type InstanceRule } from "./checks";
import { describe } from "./problem";

const HOST_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]*\$?$/;
const KEY_FILE = /^(~\/|\/)?[A-Za-z0-9_@+=:,./-]+$/;

/** One endpoint (the host, or the bastion with field names prefixed `bastion`). */
function endpoint(c: Checks, e: SshEndpoint, insecure: boolean, prefix: "" | "bastion"): void {
  const f = (name: string) => (prefix ? `${prefix}${name[0].toUpperCase()}${name.slice(1)}` : name);
  c.check(HOSTNAME.test(e.host), f("host"), `${describe(e.host)} is not a host name or address`);
  c.int(f("port"), e.port, 1, 65535);
  c.check(UNIX_USER.test(e.user), f("user"), `${describe(e.user)} is not a Unix user name`);
  if (e.hostKey === undefined) {
    c.check(
      insecure,
      f("hostKey"),
      `is required to pin ${e.host}'s identity: run \`ssh-keyscan -p ${e.port} -t ed25519 ${e.host}\`, check the fingerprint with the site's admins, and set ${f("hostKey")} to the "ssh-ed25519 AAAA..." part (or set insecureSkipHostKeyCheck: true)`,
    );
  } else {
    c.check(HOST_KEY.test(e.hostKey), f("hostKey"), 'must be "<type> <base64>", e.g. "ssh-ed25519 AAAAC3Nz..." (no host name, no comment)');
  }
  for (const [field, file] of [
    ["privateKeyFile", e.privateKeyFile],
    ["certificateFile", e.certificateFile],
  ] as const) {
    if (file === undefined) continue;
    if (/PRIVATE KEY|BEGIN OPENSSH|\n/.test(file)) {
      c.fail(f(field), "looks like key material, not a file path: give the path of the key file (the key itself must never be in code)");
    } else {
      c.check(KEY_FILE.test(file), f(field), "must be a file path (absolute, relative or starting with ~/) without spaces or quotes");
    }
  }
}

/** How the deploy reaches the host: host, port, user, pinned host keys, key files, bastion. */
export const sshRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  endpoint(c, m.ssh, m.ssh.insecureSkipHostKeyCheck, "");
  if (m.ssh.bastion) endpoint(c, m.ssh.bastion, m.ssh.insecureSkipHostKeyCheck, "bastion");
  return c.problems;
};
