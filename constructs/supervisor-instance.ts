import { Construct } from "constructs";
import { type InstanceModel, resolveInstance, type SupervisorInstanceOptions } from "./instance-model";
import { type RenderedInstance, renderInstance } from "./render";
import type { ServiceModel } from "./service-model";
import { addOutput, createDeployResources, warn } from "./terraform";
import { formatProblem, instanceWarnings, type Problem, validateHostConflicts, validateInstance } from "./validate";

/** Props of SupervisorInstance: see SupervisorInstanceOptions for every field. */
export interface SupervisorInstanceProps extends SupervisorInstanceOptions {}

const INSTANCE_SYMBOL = Symbol.for("jaws-deploy.SupervisorInstance");

/** The instances of each app, so host conflicts are checked once per app, not once per instance. */
const instancesOfApp = new WeakMap<Construct, SupervisorInstance[]>();
/** Host conflicts of an app, by instance path, and the services count they were computed for. */
const conflictsOfApp = new WeakMap<Construct, { readonly key: string; readonly byPath: Map<string, Problem[]> }>();

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
  private resolved?: InstanceModel;
  private rendered?: RenderedInstance;

  constructor(scope: Construct, id: string, props: SupervisorInstanceProps) {
    super(scope, id);
    Object.defineProperty(this, INSTANCE_SYMBOL, { value: true });
    this.props = props;
    const model = this.model();
    this.directory = model.dir;
    const root = this.node.root;
    instancesOfApp.set(root, [...(instancesOfApp.get(root) ?? []), this]);

    createDeployResources(this, {
      kind: model.deployResource,
      connection: model.ssh,
      instanceDirectory: model.dir,
      triggers: () => this.triggers(),
      bundle: () => this.render().bundle,
      destroyScript: () => this.render().destroyScript,
    });

    for (const w of instanceWarnings(model)) warn(this, formatProblem(w));
    this.node.addValidation({
      validate: () => {
        const m = this.model();
        return [...validateInstance(m), ...this.hostConflicts(m.path)].map(formatProblem);
      },
    });
    this.addOutputs(model);
  }

  /** Called by JawsService; services render in the order they were added. */
  addService(service: ServiceModel): void {
    if (this.rendered) throw new Error(`${this.node.path}: cannot add ${service.name} after synthesis`);
    this.services.push(service);
    this.resolved = undefined;
  }

  /** The resolved model: defaults applied, services included. */
  model(): InstanceModel {
    this.resolved ??= resolveInstance(this.props, this.node.path, this.services);
    return this.resolved;
  }

  /** This instance's conflicts with the other instances of the app (same socket, port, directory...). */
  private hostConflicts(path: string): readonly Problem[] {
    const root = this.node.root;
    const all = instancesOfApp.get(root) ?? [this];
    const key = all.map((i) => i.services.length).join(",");
    let cached = conflictsOfApp.get(root);
    if (cached?.key !== key) {
      const byPath = new Map<string, Problem[]>();
      for (const p of validateHostConflicts(all.map((i) => i.model()))) byPath.set(p.path, [...(byPath.get(p.path) ?? []), p]);
      cached = { key, byPath };
      conflictsOfApp.set(root, cached);
    }
    return cached.byPath.get(path) ?? [];
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
    for (const [section, text] of r.configSections) {
      t[section === "" ? "file:supervisord.conf" : `file:supervisord.conf[${section}]`] = text;
    }
    for (const [name, text] of r.wrappers) t[`file:bin/${name}.sh`] = text;
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
