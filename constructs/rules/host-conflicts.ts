import type { InstanceModel } from "../model/instance";
import type { Problem } from "./problem";

/** Instances on one host must not share an instance directory, socket, port or pidfile. */
export function hostConflicts(instances: readonly InstanceModel[]): Problem[] {
  const problems: Problem[] = [];
  const claims = new Map<string, string>();
  for (const m of instances) {
    const host = m.ssh.host.toLowerCase();
    const resources: [string, string][] = [
      ["baseDirectory", `dir:${m.dir}`],
      ["pidfile", `file:${m.supervisord.pidfile}`],
      m.control.kind === "unix" ? ["socketFile", `file:${m.control.socketFile}`] : ["inetPort", `port:${m.control.port}`],
    ];
    for (const [field, key] of resources) {
      const claimKey = `${host}|${key}`;
      const owner = claims.get(claimKey);
      if (owner !== undefined && owner !== m.path) {
        problems.push({ path: m.path, field, message: `${key.replace(/^\w+:/, "")} on ${m.ssh.host} is already used by ${owner}` });
      } else {
        claims.set(claimKey, m.path);
      }
    }
  }
  return problems;
}
