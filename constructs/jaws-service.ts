import { Construct } from "constructs";
import { type JawsServiceOptions, resolveService } from "./service-model";
import type { SupervisorInstance } from "./supervisor-instance";

export interface JawsServiceProps extends JawsServiceOptions {
  /** The supervisord instance that runs this service. */
  readonly instance: SupervisorInstance;
}

/** One program (`[program:x]`) run by a SupervisorInstance, in the instance's group. */
export class JawsService extends Construct {
  /** Program name in supervisord. */
  readonly programName: string;

  constructor(scope: Construct, id: string, props: JawsServiceProps) {
    super(scope, id);
    this.programName = props.name ?? id;
    const { instance, ...options } = props;
    instance.addService(resolveService(options, this.programName, instance.directory, this.node.path));
  }
}
