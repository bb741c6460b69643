import { jawsSitePrograms, jtmPrograms } from "./jaws-programs";
import { jawsDeployments } from "./ports";
import type { SiteDefinition } from "./site";

/** A PNNL EMSL cluster: two service users, the JAWS services as the manager, JTM and Cromwell as the worker user. */
function pnnlSite(name: string, host: string, root: string): SiteDefinition {
  return {
    name,
    host,
    shellPreamble: ["source /etc/profile", "module load python/3.8.1"],
    pythonCommand: "python3",
    deployments: jawsDeployments((d) => `${root}/jaws-${d}`),
    instances: [
      { name: "jaws", user: "svc-jtm-manager", baseDirectory: `${root}/supervisor/manager`, services: jawsSitePrograms },
      { name: "jtm", user: "svc-jtm-user", baseDirectory: `${root}/supervisor/user`, services: jtmPrograms },
    ],
  };
}

export const tahoma = pnnlSite("tahoma", "tahoma.emsl.pnnl.gov", "/tahoma/mscjgi/jaws");
export const cascade = pnnlSite("cascade", "cascade.emsl.pnnl.gov", "/dtemp/mscjgi/jaws");
