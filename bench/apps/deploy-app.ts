/**
 * The app of the deploy benchmark: stacks `jaws-bench` and `jtm-bench`, built with the library's
 * constructs exactly as sites/stacks.ts builds a site, pointed at the local test host. Reads
 * `bench-model.json` from the working directory (cdktf runs the app there):
 *   { "host": {...connection...}, "services": { "jaws": {name: options}, "jtm": {...} } }
 * so one app serves every scenario (cold, no-op, one service changed).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import { JawsService, type JawsServiceOptions, SupervisorInstance } from "../../constructs";
import { createStack } from "../../constructs/terraform";

export interface BenchInstance {
  readonly stack: string;
  readonly name: string;
  readonly user: string;
  readonly privateKeyFile: string;
  readonly baseDirectory: string;
  readonly services: Readonly<Record<string, JawsServiceOptions>>;
}

export interface BenchModel {
  readonly host: string;
  readonly port: number;
  readonly hostKey: string;
  readonly deployment: string;
  readonly instances: readonly BenchInstance[];
}

export function addBenchStacks(app: App, m: BenchModel): void {
  for (const inst of m.instances) {
    const stack = createStack(app, inst.stack);
    const instance = new SupervisorInstance(stack, "supervisor", {
      name: inst.name,
      deployment: m.deployment,
      host: m.host,
      port: m.port,
      user: inst.user,
      hostKey: m.hostKey,
      privateKeyFile: inst.privateKeyFile,
      baseDirectory: inst.baseDirectory,
      pythonCommand: "/usr/bin/python3",
      venvSystemSitePackages: true,
      pipNoIndex: true,
      deployResource: "terraform_data",
      healthTimeoutSeconds: 30,
      lockTimeoutSeconds: 60,
    });
    for (const [name, options] of Object.entries(inst.services)) {
      new JawsService(stack, name, { instance, ...options });
    }
  }
}

if (require.main === module) {
  const model = JSON.parse(readFileSync(join(process.cwd(), "bench-model.json"), "utf8")) as BenchModel;
  const app = new App();
  addBenchStacks(app, model);
  app.synth();
}
