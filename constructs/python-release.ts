import { Construct } from "constructs";
import { currentRelease, type ReleaseModel, resolveRelease } from "./model/release";
import { SupervisorInstance } from "./supervisor-instance";

/**
 * Props of PythonRelease: one version of a Python application (a package installed with pip
 * into a venv of its own) that programs of an instance run with.
 */
export interface PythonReleaseProps {
  /** The package pip installs, e.g. `jaws-site`; also the directory `releases/<package>/`. */
  readonly package: string;
  /** The version, pinned (`package==version`): changing it is the upgrade (or the rollback). */
  readonly version: string;
  /**
   * Package index for `pip install`.
   * @default - pip's default index (PyPI)
   */
  readonly pipIndexUrl?: string;
  /**
   * Local directories or URLs with distributions (`pip --find-links`).
   * @default - none
   */
  readonly pipFindLinks?: readonly string[];
  /**
   * Do not contact any package index (`pip --no-index`); use with `pipFindLinks` or `wheelFile`.
   * @default false
   */
  readonly pipNoIndex?: boolean;
  /**
   * A wheel file on the host to install instead of `package==version` from an index; its
   * version must be `version` (the deploy checks what pip installed).
   * @default - `package==version` from the index or find-links
   */
  readonly wheelFile?: string;
  /**
   * Python that makes the release's venv.
   * @default - the instance's pythonCommand (after its shellPreamble)
   */
  readonly pythonCommand?: string;
  /**
   * Releases kept on the host (the newest; never the current or the previous one).
   * @default 3
   */
  readonly keepReleases?: number;
}

/**
 * A versioned release of a Python application on an instance's host: a venv per version in
 * `<instance dir>/releases/<package>/<version>/`, built beside the running one before anything
 * running changes, and a `current` link switched by one rename. Programs use it with
 * `new JawsService(scope, id, { instance, release, command: ["jaws-site", ...] })`: their
 * wrapper activates `releases/<package>/current`, and a new version restarts exactly them.
 */
export class PythonRelease extends Construct {
  /** The instance the release is installed on. */
  readonly instance: SupervisorInstance;
  /** The package name. */
  readonly package: string;
  /** The pinned version. */
  readonly version: string;
  /** The venv the programs of this release run with (`releases/<package>/current`). */
  readonly venvDirectory: string;
  private readonly model: ReleaseModel;

  /** `scope` is the instance the release belongs to. */
  constructor(scope: SupervisorInstance, id: string, props: PythonReleaseProps) {
    super(scope, id);
    if (!SupervisorInstance.isSupervisorInstance(scope))
      throw new Error(`${this.node.path}: the scope of a PythonRelease is its SupervisorInstance`);
    this.instance = scope;
    this.package = props.package;
    this.version = props.version;
    this.model = resolveRelease(props, scope.directory, scope.model().python.command, this.node.path);
    this.venvDirectory = currentRelease(this.model);
    scope.addRelease(this.model);
  }
}
