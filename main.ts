/**
 * The jaws-deploy app: `cdktf synth` / `cdktf deploy jaws-cori` run this.
 *
 * Deploy-time choices come from the environment (CI sets them per job):
 *   JAWS_SITES           sites to synthesize: cori,lrc,... or all      (default: cori)
 *   JAWS_DEPLOYMENT      dev | staging | prod                         (default: dev)
 *   JAWS_SSH_KEY_FILE    path of the SSH private key                  (default: ssh-agent)
 *   JAWS_SSH_CERT_FILE   path of its SSH certificate                  (default: none)
 *   JAWS_DEPLOY_RESOURCE null_resource | terraform_data               (default: null_resource)
 *   JAWS_STATE_BACKEND   local | gitlab | pg                          (default: local)
 *   JAWS_HOST_KEY_<SITE> pinned host key, overriding sites/known_hosts
 *   JAWS_REDEPLOY        any new value re-runs the deploy though nothing changed
 *   JAWS_SITES_MODULE    path of a module exporting more SiteDefinitions  (default: none)
 *   JAWS_OVERRIDES       JSON of SupervisorInstance options applied to every instance (tests)
 */

import { App } from "cdktf";
import { selectSites, sitesFromEnv } from "./sites";
import { forgetSwitchedBackends } from "./sites/backend-switch";
import { addSiteStacks, connectionFromEnv } from "./sites/stacks";

const env = process.env;
const app = new App();
for (const site of selectSites(env.JAWS_SITES || "cori", sitesFromEnv(env))) {
  addSiteStacks(app, site, {
    deployment: env.JAWS_DEPLOYMENT || "dev",
    ...connectionFromEnv(env),
    deployResource: env.JAWS_DEPLOY_RESOURCE === "terraform_data" ? "terraform_data" : undefined,
    redeployToken: env.JAWS_REDEPLOY || undefined,
    stateBackend: (env.JAWS_STATE_BACKEND || "local") as "local",
  });
}
app.synth();
// Another deployment synthesized into the same cdktf.out before: its backend is not this one's.
for (const f of forgetSwitchedBackends(app.outdir)) {
  console.error(`jaws-deploy: ${f.stack}: backend ${f.to} (was ${f.from}); the other state is left untouched`);
}
