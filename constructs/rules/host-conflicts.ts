import type { InstanceModel } from "../model/instance";
import type { Problem } from "./problem";

/**
 * Instances on one host must not share an instance directory, socket, port or pidfile. A Slurm-launched
 * instance's port is bound on a node of the cluster behind that host: two such instances must not share
 * it either (Slurm may put both jobs on one node), but it does not collide with a port of the host.
 */
export function hostConflicts(instances: readonly InstanceModel[]): Problem[] {
  const problems: Problem[] = [];
  const claims = new Map<string, string>();
  for (const m of instances) {
    const host = m.ssh.host.toLowerCase();
    const resources: [string, string][] = [
      ["baseDirectory", `dir:${m.dir}`],
      ["pidfile", `file:${m.supervisord.pidfile}`],
      m.control.kind === "unix"
        ? ["socketFile", `file:${m.control.socketFile}`]
        : ["inetPort", `${m.launcher.kind === "slurm" ? "node-port" : "port"}:${m.control.port}`],
    ];
    for (const [field, key] of resources) {
      const claimKey = `${host}|${key}`;
      const owner = claims.get(claimKey);
      if (owner !== undefined && owner !== m.path) {
        const where = key.startsWith("node-port:") ? `the Slurm nodes behind ${m.ssh.host} (two jobs may share a node)` : m.ssh.host;
        problems.push({ path: m.path, field, message: `${key.replace(/^[\w-]+:/, "")} on ${where} is already used by ${owner}` });
      } else {
        claims.set(claimKey, m.path);
      }
    }
  }
  return problems;
}
