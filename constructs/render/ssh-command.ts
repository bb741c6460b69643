import type { SshSettings } from "../model/instance";

/** What `ssh` needs to reach an instance the way the deploy does (pinned host key, same key). */
export interface SshTarget {
  /** Arguments before the remote command. */
  readonly args: string[];
  /** known_hosts content to write to the `knownHostsFile` the args name. */
  readonly knownHosts: string;
}

const hostEntry = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`);

/**
 * ssh arguments for an instance: batch mode, the pinned host key (or no check when the model
 * says so) in `knownHostsFile`, the key and certificate files (or the agent), and the bastion.
 * The one builder of an ssh command line: the operators' status command and the secrets' send
 * script both use it. `expandHome` turns `~/x` into a path (ssh itself expands `~` in `-i`
 * and `CertificateFile`, so the identity is the default).
 */
export function sshTarget(ssh: SshSettings, knownHostsFile: string, expandHome: (path: string) => string = (p) => p): SshTarget {
  const s = ssh;
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
