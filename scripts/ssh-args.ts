import type { InstanceModel } from "../constructs";

/** What `ssh` needs to reach an instance the way the deploy does (pinned host key, same key). */
export interface SshTarget {
  /** Arguments before the remote command. */
  readonly args: string[];
  /** known_hosts content to write to `knownHostsFile`. */
  readonly knownHosts: string;
}

const hostEntry = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`);

/**
 * ssh arguments for an instance: batch mode, the pinned host key (or no check
 * when the model says so), the key and certificate files, and the bastion.
 */
export function sshTarget(m: InstanceModel, knownHostsFile: string): SshTarget {
  const s = m.ssh;
  const expandHome = (path: string) => path.replace(/^~\//, `${process.env.HOME}/`);
  const check = s.insecureSkipHostKeyCheck ? ["-o", "StrictHostKeyChecking=no"] : ["-o", "StrictHostKeyChecking=yes"];
  const args = [
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    ...check,
    "-o",
    `UserKnownHostsFile=${knownHostsFile}`,
    "-p",
    String(s.port),
  ];
  if (s.privateKeyFile) args.push("-i", expandHome(s.privateKeyFile), "-o", "IdentitiesOnly=yes");
  if (s.certificateFile) args.push("-o", `CertificateFile=${expandHome(s.certificateFile)}`);
  const lines = s.hostKey ? [`${hostEntry(s.host, s.port)} ${s.hostKey}`] : [];
  if (s.bastion) {
    const b = s.bastion;
    args.push("-J", `${b.user}@${b.host}:${b.port}`);
    if (b.hostKey) lines.push(`${hostEntry(b.host, b.port)} ${b.hostKey}`);
  }
  args.push(`${s.user}@${s.host}`);
  return { args, knownHosts: lines.map((l) => `${l}\n`).join("") };
}
