import { jawsSitePrograms, jtmPrograms } from "./jaws-programs";
import { jawsDeployments } from "./ports";
import type { SiteDefinition } from "./site";

const groupDir = "/global/home/groups/lr_jgicloud/jaws";

/** JGI on LBNL's Lawrencium: one service user, one supervisord running the JAWS and the JTM programs. */
export const lrc: SiteDefinition = {
  name: "lrc",
  host: "lrc-services.lbl.gov",
  shellPreamble: ["source /etc/profile", "module load python/3.8.8"],
  pythonCommand: "python3",
  deployments: jawsDeployments((d) => `${groupDir}/jaws-${d}`),
  instances: [
    {
      name: "jaws",
      user: "jaws",
      baseDirectory: `${groupDir}/supervisor`,
      services: (d) => ({ ...jawsSitePrograms(d), ...jtmPrograms(d) }),
    },
  ],
};
