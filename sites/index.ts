import { cori } from "./cori";
import { lrc } from "./lrc";
import { cascade, tahoma } from "./pnnl";
import type { SiteDefinition } from "./site";

/** Every JAWS site this repository can deploy, by name. */
export const SITES: Readonly<Record<string, SiteDefinition>> = { cori, lrc, tahoma, cascade };

/** The SiteDefinitions a module exports (JAWS_SITES_MODULE: sites kept outside this repository). */
export function loadSiteModule(path: string): Record<string, SiteDefinition> {
  const mod = require(path) as Record<string, unknown>;
  const sites = Object.values(mod).filter((s): s is SiteDefinition => typeof s === "object" && s !== null && "instances" in s);
  return Object.fromEntries(sites.map((s) => [s.name, s]));
}

/**
 * Sites named in a comma-separated list (`cori,lrc`), or every site for `all`.
 * An unknown name is an error that lists the known ones.
 */
export function selectSites(list: string, extra: Readonly<Record<string, SiteDefinition>> = {}): SiteDefinition[] {
  const all = { ...SITES, ...extra };
  const names =
    list.trim() === "all"
      ? Object.keys(all)
      : list
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
  return names.map((n) => {
    const site = all[n];
    if (!site) throw new Error(`unknown site ${JSON.stringify(n)} (known: ${Object.keys(all).join(", ")}, or all)`);
    return site;
  });
}
