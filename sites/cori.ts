import { jawsRelease, jawsSiteConfCori } from "./jaws-config";
import {
  coriEraBackendPrograms,
  coriEraPaths,
  coriEraSitePrograms,
  JAWS_JTM_RELEASE,
  JAWS_SITE_CONF,
  JAWS_SITE_RELEASE,
} from "./jaws-programs";
import type { DeploymentContext, DeploymentSettings, SiteDefinition } from "./site";

/**
 * NERSC Cori as JAWS ran it until 2022 (branch master of the JAWS repository, 9953611d:
 * .gitlab-ci.yml, test/integration/{define-env,generate-shims,deploy-supervisord,deploy-cromwell}):
 * two users on the login node cori20, each with its supervisord per deployment, the `jaws` one
 * (config supervisord-jaws.conf) and the `jtm` one (supervisord-cwl-backend.conf).
 *
 * Deliberate differences from the era: the instances live in `<SUPERVISOR_DIR>/<name>-<dep>` (the
 * library's layout), their HTTP endpoint listens on 127.0.0.1 instead of 0.0.0.0, and the
 * wrappers also run the site's module line (the era ran it only in its supervisord shims).
 * Not modelled: the access ACLs the daemon's shim set on inputs and data-repository
 * (`setfacl -m g:{jaws,jaws_jtm,genome}:rwx`, not default ACLs: the library sets default ACLs only).
 *
 * The application: jaws-site and JTM of JAWS_VERSION 2.6.0 (.gitlab-ci.yml of master), each a
 * versioned release (`releases/<package>/<version>/` in the instance directory, instead of the
 * era's venvs `<install>/site` and `<install>/jtm` rebuilt in place by generate-venvs), and
 * `configs/jaws-site.conf` as generate-configs wrote it, mode 0600 instead of the era's 660, its
 * passwords from CI variables (sites/jaws-config.ts). jaws-jtm.conf is not rendered here.
 */
const INSTALL_BASE = "/global/cfs/projectdirs/jaws/jaws-install";
const JAWS_SCRATCH = "/global/cscratch1/sd/jaws";
const JTM_SCRATCH = "/global/cscratch1/sd/jaws_jtm";
const DATA_REPO_BASE = "/global/cfs/projectdirs/jaws";
const MODULES = ["module load python/3.8-anaconda-2020.11"];
/** JAWS_VERSION of branch master's .gitlab-ci.yml: jaws_site and jaws_jtm were built from that tree. */
export const CORI_JAWS_VERSION = "2.6.0";

/** dev/staging/prod: log level, jaws and jtm supervisord ports, Cromwell's port (.gitlab-ci.yml). */
const DEPLOYMENTS: [string, string, number, number, number][] = [
  ["dev", "DEBUG", 64101, 64111, 50101],
  ["staging", "DEBUG", 64102, 64112, 50102],
  ["prod", "INFO", 64103, 64113, 50103],
];

const deployments: Record<string, DeploymentSettings> = Object.fromEntries(
  DEPLOYMENTS.map(([d, logLevel, jaws, jtm, cromwell]) => [
    d,
    { installDirectory: `${INSTALL_BASE}/jaws-${d}`, logLevel, cromwellPort: cromwell, supervisordPorts: { jaws, jtm } },
  ]),
);

/** SUPERVISOR_DIR: both instances' configs of a deployment were there. */
const supervisorDir = (d: DeploymentContext) => `${INSTALL_BASE}/jaws-supervisord-${d.deployment}`;
const jtmScratch = (d: DeploymentContext) => `${JTM_SCRATCH}/jaws-${d.deployment}`;

export const cori: SiteDefinition = {
  name: "cori",
  host: "cori20.nersc.gov",
  shellPreamble: MODULES,
  pythonCommand: "python3",
  deployments,
  instances: [
    {
      name: "jaws",
      user: "jaws",
      baseDirectory: supervisorDir,
      control: "inet",
      services: (d) => coriEraSitePrograms(d, MODULES),
      releases: (d) => ({ [JAWS_SITE_RELEASE]: jawsRelease("jaws_site", CORI_JAWS_VERSION, d.settings.installDirectory) }),
      configFiles: (d) => ({
        [JAWS_SITE_CONF]: jawsSiteConfCori({
          deployment: d.deployment,
          path: coriEraPaths(d.settings.installDirectory).siteConfig,
          // define-env: SITE_UPLOADS_DIR is the jaws scratch dir's inputs/.
          uploadsDirectory: `${JAWS_SCRATCH}/jaws-${d.deployment}/inputs`,
          cromwellPort: d.settings.cromwellPort,
        }),
      }),
      props: (d) => {
        const p = coriEraPaths(d.settings.installDirectory);
        const scratch = `${JAWS_SCRATCH}/jaws-${d.deployment}`;
        return {
          directories: [
            // Made by define-env (run as jaws by the CI runner): group jaws_jtm, 770.
            { path: d.settings.installDirectory, group: "jaws_jtm", mode: "0770" },
            { path: p.configs, group: "jaws_jtm", mode: "0770" },
            { path: p.logs, group: "jaws_jtm", mode: "0770" },
            { path: `${p.logs}/cromwell-workflow-logs`, group: "jaws_jtm", mode: "0770" },
            // jaws-site-daemon's shim: `chmod 2775` on the scratch dir and, with its ACLs, on inputs
            // and the data repository (groups as define-env set them).
            { path: scratch, group: "jaws_jtm", mode: "2775" },
            { path: `${scratch}/inputs`, group: "jaws_jtm", mode: "2775" },
            { path: `${DATA_REPO_BASE}/data-repository-${d.deployment}`, group: "genome", mode: "2775" },
          ],
        };
      },
    },
    {
      name: "jtm",
      user: "jaws_jtm",
      baseDirectory: supervisorDir,
      control: "inet",
      services: (d) => coriEraBackendPrograms(d, { modules: MODULES, jtmScratch: jtmScratch(d) }),
      releases: (d) => ({ [JAWS_JTM_RELEASE]: jawsRelease("jaws_jtm", CORI_JAWS_VERSION, d.settings.installDirectory) }),
      props: (d) => ({
        identifier: `supervisor-backend-${d.deployment}`,
        directories: [
          // jaws-jtm's shim made it 2770, then jaws-cromwell's (started after it) 2775: 2775 is
          // what it had while both ran.
          { path: jtmScratch(d), group: "jaws_jtm", mode: "2775" },
          // define-env: Cromwell's executions (775) and tmp (770), the shifter image dir (770, shared by the deployments).
          { path: `${jtmScratch(d)}/cromwell-executions`, group: "jaws_jtm", mode: "0775" },
          { path: `${jtmScratch(d)}/cromwell-tmp`, group: "jaws_jtm", mode: "0770" },
          { path: `${JTM_SCRATCH}/shifter_files`, group: "jaws_jtm", mode: "0770" },
        ],
      }),
    },
  ],
};
