import { jawsSitePrograms, jtmPrograms } from "./jaws-programs";
import type { SiteDefinition } from "./site";

const projectDir = "/global/cfs/projectdirs/jaws";

/** NERSC Cori: two users, two supervisord instances on the login node cori20. */
export const cori: SiteDefinition = {
  name: "cori",
  host: "cori20.nersc.gov",
  shellPreamble: ["module load python"],
  pythonCommand: "python3",
  deployments: {
    dev: { installDirectory: `${projectDir}/jaws-dev`, cromwellPort: 50101, supervisordPorts: { jaws: 64101, jtm: 64111 } },
    staging: { installDirectory: `${projectDir}/jaws-staging`, cromwellPort: 50102, supervisordPorts: { jaws: 64102, jtm: 64112 } },
    prod: { installDirectory: `${projectDir}/jaws-prod`, cromwellPort: 50103, supervisordPorts: { jaws: 64103, jtm: 64113 } },
  },
  instances: [
    { name: "jaws", user: "jaws", baseDirectory: `${projectDir}/supervisor/jaws`, services: jawsSitePrograms },
    { name: "jtm", user: "jaws_jtm", baseDirectory: `${projectDir}/supervisor/jtm`, services: jtmPrograms },
  ],
};
