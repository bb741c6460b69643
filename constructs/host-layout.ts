/**
 * Where things are in an instance directory on the host, declared once: the rendered scripts
 * (through the render context), the status command, tests and bench take paths from here.
 * The Python side (templates/jawsctl) finds its files under the `--dir` it is given.
 *
 * Except templates/destroy.sh.hbs, which keeps its own spelling: its text is a trigger of the
 * instance resource, so any change to it replaces that resource on every host (the old destroy
 * script stops the instance, the deploy starts it again).
 */

/** A subdirectory of the instance directory, made by every deploy, ensure run and destroy. */
export interface HostDirectory {
  /** Relative to the instance directory. */
  readonly path: string;
  /**
   * Octal mode set on every run.
   *
   * @default - made 0700 (the scripts' umask), then left as the operator has it
   */
  readonly mode?: string;
}

/** The instance directory itself is 0700: it holds the config and the key. */
export const INSTANCE_DIR_MODE = "0700";

export const HOST_DIRECTORIES: readonly HostDirectory[] = [
  { path: "bin" },
  { path: "lib" },
  { path: "lib/jawsctl" },
  { path: "log" },
  { path: "run", mode: "0700" },
  { path: "secret", mode: "0700" },
  { path: "state" },
  { path: ".deploy", mode: "0700" },
];

/** Files of the instance, relative to its directory. */
export const HOST_FILES = {
  supervisordConf: "supervisord.conf",
  /** Endpoint, user and key of the instance's control connection (made on the host). */
  supervisorctlConf: "secret/supervisorctl.conf",
  /** The manifest of what the host runs, replaced once a deploy passed its health gate. */
  programs: "state/programs.json",
  deployId: "state/deploy-id",
  /** The releases the host runs (PythonRelease), replaced with programs.json; shape in render-instance.ts releasesSpec. */
  releases: "state/releases.json",
  /** The config files the host runs, with keyed fingerprints (jawsctl config_files.py). */
  configFiles: "state/config-files.json",
  /** The shell library sourced by deploy, ensure and destroy. */
  shellLib: "lib/jaws-lib.sh",
  /** The jawsctl package; lib/ is on the venv's sys.path (see templates/jawsctl/__init__.py). */
  controlPackage: "lib/jawsctl",
  venvPython: "venv/bin/python",
  /** supervisorctl with the instance's own key, for operators. */
  supervisorctl: "bin/supervisorctl",
  /** Starts supervisord again after a maintenance (idempotent; --rotate-key). */
  ensure: "bin/ensure",
} as const;

/** `path` (relative) in the instance directory `dir`. */
export function hostPath(dir: string, path: string): string {
  return `${dir}/${path}`;
}

/**
 * The argv of jawsctl for the instance in `dir`, before its subcommand (`status`, `pids`...).
 * `-I`: neither the operator's PYTHONPATH nor the current directory can shadow the package.
 */
export function controlCommand(dir: string): string[] {
  return [hostPath(dir, HOST_FILES.venvPython), "-I", "-m", "jawsctl", "--dir", dir];
}
