import { cori } from "./cori";
import { notDeployable, type SiteDefinition } from "./site";
import { defiant, dori, jgi, kbase, nmdc, nmdcTahoma, perlmutter, tahoma } from "./today";

/**
 * Every JAWS site, by name: Cori as it ran until 2022, and the sites JAWS deploys to today. The
 * scrontab ones (NERSC) deploy with the Slurm launcher; the systemd one (Dori) is data only:
 * selecting it fails with the reason.
 */
export const SITES: Readonly<Record<string, SiteDefinition>> = Object.fromEntries(
  [cori, jgi, tahoma, nmdcTahoma, defiant, perlmutter, nmdc, kbase, dori].map((s) => [s.name, s]),
);

/** The SiteDefinitions a module exports (JAWS_SITES_MODULE: sites kept outside this repository). */
export function loadSiteModule(path: string): Record<string, SiteDefinition> {
  const mod = require(path) as Record<string, unknown>;
  const sites = Object.values(mod).filter((s): s is SiteDefinition => typeof s === "object" && s !== null && "instances" in s);
  return Object.fromEntries(sites.map((s) => [s.name, s]));
}

/**
 * Sites named in a comma-separated list (`cori,jgi`), or for `all` every site jaws-deploy can
 * deploy (supervisor- and Slurm-launched). An unknown name is an error that lists the known ones.
 */
export function selectSites(list: string, extra: Readonly<Record<string, SiteDefinition>> = {}): SiteDefinition[] {
  const all = { ...SITES, ...extra };
  if (list.trim() === "all") return Object.values(all).filter((s) => notDeployable(s) === undefined);
  const names = list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return names.map((n) => {
    const site = all[n];
    if (!site) throw new Error(`unknown site ${JSON.stringify(n)} (known: ${Object.keys(all).join(", ")}, or all)`);
    return site;
  });
}
