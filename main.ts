/**
 * The jaws-deploy app: `cdktf synth` / `cdktf deploy jaws-cori` run this.
 *
 * Deploy-time choices come from the environment (CI sets them per job):
 *   JAWS_DEPLOYMENT      dev | staging | prod            (default: dev)
 *   JAWS_SSH_KEY_FILE    path of the SSH private key     (default: ssh-agent)
 *   JAWS_SSH_CERT_FILE   path of its SSH certificate     (default: none)
 *   JAWS_DEPLOY_RESOURCE null_resource | terraform_data  (default: null_resource)
 */
import { App } from "cdktf";
import { cori } from "./sites/cori";
import { addSiteStacks } from "./sites/stacks";

const env = process.env;
const app = new App();
addSiteStacks(app, cori, {
  deployment: env.JAWS_DEPLOYMENT || "dev",
  privateKeyFile: env.JAWS_SSH_KEY_FILE || undefined,
  certificateFile: env.JAWS_SSH_CERT_FILE || undefined,
  deployResource: env.JAWS_DEPLOY_RESOURCE === "terraform_data" ? "terraform_data" : undefined,
});
app.synth();
