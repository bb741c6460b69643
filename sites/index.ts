import { cori } from "./cori";
import { lrc } from "./lrc";
import { cascade, tahoma } from "./pnnl";
import type { SiteDefinition } from "./site";

/** Every JAWS site this repository can deploy, by name. */
export const SITES: Readonly<Record<string, SiteDefinition>> = { cori, lrc, tahoma, cascade };

/**
 * Sites named in a comma-separated list (`cori,lrc`), or every site for `all`.
 * An unknown name is an error that lists the known ones.
 */
export function selectSites(list: string): SiteDefinition[] {
  const names =
    list.trim() === "all"
      ? Object.keys(SITES)
      : list
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
  return names.map((n) => {
    const site = SITES[n];
    if (!site) throw new Error(`unknown site ${JSON.stringify(n)} (known: ${Object.keys(SITES).join(", ")}, or all)`);
    return site;
  });
}
