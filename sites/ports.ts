import type { DeploymentSettings } from "./site";

/**
 * The numbering most JAWS sites use (dev/staging/prod: supervisord 64101-3 and 64111-3, Cromwell
 * 50101-3), for test and bench fleets. The real sites carry their own ports (sites/cori.ts,
 * sites/today.ts): they belong to a site and deployment (NMDC uses 64104-6).
 */
export function jawsDeployments(installDirectory: (deployment: string) => string): Record<string, DeploymentSettings> {
  const table: [string, number][] = [
    ["dev", 1],
    ["staging", 2],
    ["prod", 3],
  ];
  return Object.fromEntries(
    table.map(([d, n]) => [
      d,
      {
        installDirectory: installDirectory(d),
        cromwellPort: 50100 + n,
        supervisordPorts: { jaws: 64100 + n, jtm: 64110 + n },
      },
    ]),
  );
}
