/**
 * The jaws-deploy app: `cdktf synth` / `cdktf deploy jaws-cori` run this. Its settings come from
 * the environment (see sites/environment.ts); CI sets them per job.
 */
import { App } from "cdktf";
import { forgetSwitchedBackends } from "./sites/backend-switch";
import { EnvironmentError, readEnvironment } from "./sites/environment";
import { addSiteStacks } from "./sites/stacks";

function main(): void {
  const { sites, selection } = readEnvironment(process.env);
  const app = new App();
  for (const site of sites) addSiteStacks(app, site, selection);
  app.synth();
  // Another deployment synthesized into the same cdktf.out before: its backend is not this one's.
  for (const f of forgetSwitchedBackends(app.outdir)) {
    console.error(`jaws-deploy: ${f.stack}: backend ${f.to} (was ${f.from}); the other state is left untouched`);
  }
}

try {
  main();
} catch (e) {
  if (!(e instanceof EnvironmentError)) throw e;
  console.error(e.message);
  process.exit(1);
}
