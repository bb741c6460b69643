import type { JawsServiceOptions } from "../constructs";
import type { DeploymentContext } from "./site";

/**
 * The JAWS programs as the JAWS deployment ran them (see shared/reference/jaws-deployment.md):
 * long-running daemons started through wrappers that set a UTF-8 locale and the
 * service's venv, plus one-shot deploy steps.
 */
export function jawsSitePrograms(d: DeploymentContext): Record<string, JawsServiceOptions> {
  const install = d.settings.installDirectory;
  const site = (...args: string[]): JawsServiceOptions => ({
    command: ["jaws-site", "--config", `${install}/configs/jaws-site.conf`, ...args],
    venv: `${install}/site`,
    startretries: 10,
  });
  return {
    "jaws-site-daemon": site("daemon"),
    "jaws-site-jtm-rpc": site("jtm-rpc-server"),
    "jaws-site-central-rpc": site("central-rpc-server"),
    "jaws-deploy-client": {
      command: [`${install}/bin/deploy-client`],
      oneShot: true,
      venv: `${install}/site`,
    },
  };
}

export function jtmPrograms(d: DeploymentContext): Record<string, JawsServiceOptions> {
  const install = d.settings.installDirectory;
  return {
    // JTM stops before Cromwell (lower priority starts first, stops last).
    "jaws-jtm": {
      command: ["jtm", "--config", `${install}/configs/jaws-jtm.conf`, "manager"],
      venv: `${install}/jtm`,
      priority: 1,
      startretries: 10,
    },
    "jaws-cromwell": {
      command: [
        "java",
        "-Xmx5g",
        `-Dconfig.file=${install}/configs/cromwell.conf`,
        `-Dwebservice.port=${d.settings.cromwellPort}`,
        "-jar",
        `${install}/cromwell/cromwell.jar`,
        "server",
      ],
      priority: 9,
      startsecs: 10,
      startretries: 10,
      // Cromwell needs time to checkpoint running workflows.
      stopwaitsecs: 120,
    },
    "jaws-deploy-worker": {
      command: [`${install}/bin/deploy-worker`],
      oneShot: true,
      venv: `${install}/jtm`,
    },
  };
}
