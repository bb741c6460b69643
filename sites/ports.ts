import type { DeploymentSettings } from "./site";

/**
 * The JAWS port table, the same at every site: dev/staging/prod side by side.
 * `installDirectory` is per site; the ports are not.
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
