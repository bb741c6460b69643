import type { PythonReleaseProps } from "../python-release";
import type { Problem } from "../rules/problem";
import { normalisePath, tokenProblems } from "./input";

/** Where an instance keeps its releases, relative to the instance directory. */
export const RELEASES_DIRECTORY = "releases";

/** A release with its defaults applied: what validation and rendering see. */
export interface ReleaseModel {
  /** Construct path, for error messages. */
  readonly path: string;
  readonly package: string;
  readonly version: string;
  /** Python that makes the release's venv (the instance's by default). */
  readonly python: string;
  readonly indexUrl?: string;
  readonly findLinks: readonly string[];
  readonly noIndex: boolean;
  readonly wheelFile?: string;
  readonly keepReleases: number;
  /** `<instance dir>/releases/<package>`: one venv per version in it, and the `current` link. */
  readonly directory: string;
  readonly inputProblems: readonly Problem[];
}

/** `<instance dir>/releases/<package>/current`: the venv the programs of a release run with. */
export const currentRelease = (r: Pick<ReleaseModel, "directory">): string => `${r.directory}/current`;

/** Applies the defaults; does not validate (see rules/releases.ts). */
export function resolveRelease(o: PythonReleaseProps, instanceDir: string, instancePython: string, path: string): ReleaseModel {
  return {
    path,
    package: o.package,
    version: o.version,
    python: o.pythonCommand ?? instancePython,
    indexUrl: o.pipIndexUrl,
    findLinks: (o.pipFindLinks ?? []).map((l) => normalisePath(l)),
    noIndex: o.pipNoIndex ?? false,
    wheelFile: normalisePath(o.wheelFile),
    keepReleases: o.keepReleases ?? 3,
    directory: `${instanceDir}/${RELEASES_DIRECTORY}/${o.package}`,
    inputProblems: tokenProblems(o, path),
  };
}
