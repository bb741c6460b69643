import { Construct } from "constructs";
import { type ConfigFileModel, resolveConfigFile } from "./model/config-file";
import { SupervisorInstance } from "./supervisor-instance";

/**
 * How values are written into a config file, so that no value can change the file's meaning:
 * - `ini`: Python's configparser with its default interpolation (JAWS's `jaws-site.conf`):
 *   `%` is doubled; a value with a control character (newline...), leading or trailing
 *   whitespace, or `$name`/`${` (JAWS's reader expands environment variables) is refused.
 * - `env`: `KEY={{value}}` lines read by a shell or `apptainer --env-file`: values are
 *   single-quoted, any character but NUL is kept.
 * - `text`: values inserted as they are (the template's author owns the meaning).
 */
export type ConfigFormat = "ini" | "env" | "text";

/** Where a secret value comes from, on the machine that runs Terraform (a CI job). */
export type SecretSourceProps =
  /** A (masked) CI variable holding the value. */
  | { readonly envVariable: string }
  /** A GitLab file variable: the variable holds the path of a file holding the value (one trailing newline dropped). */
  | { readonly fileVariable: string };

/** Props of ConfigFile: a file the programs read, rendered from a template with plain and secret values. */
export interface ConfigFileProps {
  /** Path on the host: relative to the instance directory (`config/jaws-site.conf`) or absolute. */
  readonly path: string;
  /**
   * Handlebars template: `{{name}}` inserts a plain value, `{{secret.name}}` a secret, each
   * written as `format` requires.
   */
  readonly template: string;
  /**
   * Plain values (shown in `cdktf diff`).
   * @default - none
   */
  readonly values?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Secret values, by the name the template uses: read from CI variables by Terraform's deploy
   * at apply time and sent to the host over SSH's stdin; never in the synthesized JSON,
   * Terraform state, plan or logs (see README "Releases and secrets").
   * @default - none
   */
  readonly secrets?: Readonly<Record<string, SecretSourceProps>>;
  /** @default ini */
  readonly format?: ConfigFormat;
  /**
   * Octal mode: `0600`, or `0640` with `group` (the group may read it).
   * @default 0600
   */
  readonly mode?: "0600" | "0640";
  /**
   * Owning group (required with mode 0640; the instance's user must belong to it).
   * @default - the user's primary group
   */
  readonly group?: string;
}

/**
 * A config file of an instance, rendered on the host (secrets substituted there), written
 * atomically with its mode; programs that list it in `configFiles` restart exactly when its
 * rendered content changes.
 */
export class ConfigFile extends Construct {
  readonly instance: SupervisorInstance;
  /** The file's absolute path on the host. */
  readonly path: string;

  /** `scope` is the instance the file belongs to. */
  constructor(scope: SupervisorInstance, id: string, props: ConfigFileProps) {
    super(scope, id);
    if (!SupervisorInstance.isSupervisorInstance(scope))
      throw new Error(`${this.node.path}: the scope of a ConfigFile is its SupervisorInstance`);
    this.instance = scope;
    const model: ConfigFileModel = resolveConfigFile(props, scope.directory, this.node.path);
    this.path = model.file;
    scope.addConfigFile(model);
  }
}
