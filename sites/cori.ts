import { jawsSitePrograms, jtmPrograms } from "./jaws-programs";
import { jawsDeployments } from "./ports";
import type { SiteDefinition } from "./site";

const projectDir = "/global/cfs/projectdirs/jaws";

/** NERSC Cori: two users, two supervisord instances on the login node cori20. */
export const cori: SiteDefinition = {
  name: "cori",
  host: "cori20.nersc.gov",
  shellPreamble: ["module load python"],
  pythonCommand: "python3",
  deployments: jawsDeployments((d) => `${projectDir}/jaws-${d}`),
  instances: [
    { name: "jaws", user: "jaws", baseDirectory: `${projectDir}/supervisor/jaws`, services: jawsSitePrograms },
    { name: "jtm", user: "jaws_jtm", baseDirectory: `${projectDir}/supervisor/jtm`, services: jtmPrograms },
  ],
};
