import { Construct } from "constructs";
import { type InstanceModel, resolveInstance, type SupervisorInstanceOptions } from "./instance-model";
import { configSections, type RenderedInstance, renderInstance } from "./render";
import type { ServiceModel } from "./service-model";
import { addOutput, createDeployResources, warn } from "./terraform";
import { formatProblem, instanceWarnings, validateHostConflicts, validateInstance } from "./validate";

/** Props of SupervisorInstance: see SupervisorInstanceOptions for every field. */
export interface SupervisorInstanceProps extends SupervisorInstanceOptions {}

const INSTANCE_SYMBOL = Symbol.for("jaws-deploy.SupervisorInstance");

/**
 * One supervisord process on one host, run as one Unix user, deployed over SSH.
 * Add programs with `new JawsService(scope, id, { instance, ... })`.
 */
export class SupervisorInstance extends Construct {
  static isSupervisorInstance(x: unknown): x is SupervisorInstance {
    return typeof x === "object" && x !== null && INSTANCE_SYMBOL in x;
  }

  /** The instance directory on the host. */
  readonly directory: string;
  readonly props: SupervisorInstanceProps;
  private readonly services: ServiceModel[] = [];
  private rendered?: RenderedInstance;

  constructor(scope: Construct, id: string, props: SupervisorInstanceProps) {
    super(scope, id);
    Object.defineProperty(this, INSTANCE_SYMBOL, { value: true });
    this.props = props;
    this.directory = resolveInstance(props, this.node.path).dir;

    const model = this.model();
    createDeployResources(this, {
      kind: model.deployResource,
      connection: { ...model.ssh },
      instanceDirectory: model.dir,
      triggers: () => this.triggers(),
      bundle: () => this.render().bundle,
      destroyScript: () => this.render().destroyScript,
    });

    for (const w of instanceWarnings(model)) warn(this, formatProblem(w));
    this.node.addValidation({
      validate: () => {
        const m = this.model();
        const others = this.node.root.node
          .findAll()
          .filter((c): c is SupervisorInstance => SupervisorInstance.isSupervisorInstance(c))
          .map((c) => c.model());
        const conflicts = validateHostConflicts(others).filter((p) => p.path === m.path);
        return [...validateInstance(m), ...conflicts].map(formatProblem);
      },
    });
    this.addOutputs(model);
  }

  /** Called by JawsService; services render in the order they were added. */
  addService(service: ServiceModel): void {
    if (this.rendered) throw new Error(`${this.node.path}: cannot add ${service.name} after synthesis`);
    this.services.push(service);
  }

  /** The resolved model: defaults applied, services included. */
  model(): InstanceModel {
    return resolveInstance(this.props, this.node.path, this.services);
  }

  /** Everything the host gets (validated; throws the problems otherwise). */
  render(): RenderedInstance {
    this.rendered ??= renderInstance(this.model());
    return this.rendered;
  }

  private triggers(): Record<string, string> {
    const r = this.render();
    const t: Record<string, string> = { instance_dir: this.directory, deploy_id: r.deployId };
    if (this.props.redeployToken !== undefined) t.redeploy = this.props.redeployToken;
    // Readable content, so `cdktf diff` shows the changed lines of what lands on the host. The
    // config goes one section per trigger: a diff names the section, and no string grows with
    // the fleet (Terraform parses long multi-line strings in quadratic time).
    for (const [section, text] of configSections(r.supervisordConf)) {
      t[section === "" ? "file:supervisord.conf" : `file:supervisord.conf[${section}]`] = text;
    }
    for (const f of r.files) {
      if (/^bin\/.+\.sh$/.test(f.path)) t[`file:${f.path}`] = f.content;
    }
    return t;
  }

  private addOutputs(m: InstanceModel): void {
    const ssh = [
      "ssh",
      ...(m.ssh.port === 22 ? [] : ["-p", String(m.ssh.port)]),
      ...(m.ssh.bastion ? ["-J", `${m.ssh.bastion.user}@${m.ssh.bastion.host}:${m.ssh.bastion.port}`] : []),
      `${m.ssh.user}@${m.ssh.host}`,
    ].join(" ");
    const ctl = `${m.dir}/bin/supervisorctl`;
    const g = m.group.name;
    addOutput(this, "status", `${ssh} ${ctl} status`, `Status of every program of ${m.name}-${m.deployment}`);
    addOutput(this, "start", `${ssh} ${ctl} start '${g}:*'`, "Start every program of the group");
    addOutput(this, "stop", `${ssh} ${ctl} stop '${g}:*'`, "Stop every program of the group");
    addOutput(this, "tail", `${ssh} ${ctl} tail -f ${g}:<program>`, "Follow a program's log (put the program name in)");
    addOutput(this, "ensure", `${ssh} ${m.dir}/bin/ensure`, "Start supervisord again after a host maintenance");
  }
}
