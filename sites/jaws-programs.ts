import type { JawsServiceOptions } from "../constructs";
import type { DeploymentContext, SiteService } from "./site";

/**
 * The JAWS programs as JAWS's own deploy scripts ran them (../shared/reference/jaws-today.md,
 * checked against the public mirror JGI-Bioinformatics/jaws). Each wrapper is the program's
 * "shim": a login shell (`#!/bin/bash -l`) exporting a UTF-8 locale, then the venv, then `exec`.
 */

// ---- The Cori era (branch master, 2020-2022): jaws-site 1.x, JTM and Cromwell ----------------

/** `[program:x]` options every program of the era had: numprocs=1 startsecs=3 startretries=10 autorestart=unexpected. */
const CORI_ERA: Partial<JawsServiceOptions> = {
  startsecs: 3,
  startretries: 10,
  autorestart: "unexpected",
  // Not set in the era's config, so supervisord's default (false) applied.
  stopasgroup: false,
  killasgroup: false,
};

/** Cori-era layout of a deployment (test/integration/define-env): `<install>/{configs,logs,site,jtm}`. */
export const coriEraPaths = (install: string) => ({
  configs: `${install}/configs`,
  siteConfig: `${install}/configs/jaws-site.conf`,
  logs: `${install}/logs`,
  cromwellJar: `${install}/cromwell.jar`,
});

/** Ids of the releases and config file the site definitions declare (sites/cori.ts, sites/today.ts). */
export const JAWS_SITE_RELEASE = "jaws-site";
export const JAWS_JTM_RELEASE = "jaws-jtm";
export const JAWS_SITE_CONF = "jaws-site-conf";

/**
 * The jaws instance: the three jaws-site daemons (generate-shims), in the order of the group's
 * `programs=` line, run with the jaws-site release and its config file. `modules`: the site's
 * Python module line, run in each wrapper before the release's venv.
 */
export function coriEraSitePrograms(d: DeploymentContext, modules: readonly string[]): Record<string, SiteService> {
  const p = coriEraPaths(d.settings.installDirectory);
  const level = d.settings.logLevel ?? "INFO";
  const site = (log: string, subcommand: string, logLevel = level): SiteService => ({
    ...CORI_ERA,
    command: ["jaws-site", "--log", `${p.logs}/${log}`, "--config", p.siteConfig, "--log-level", logLevel, subcommand],
    releaseId: JAWS_SITE_RELEASE,
    configFileIds: [JAWS_SITE_CONF],
    loginShell: true,
    shellPreamble: modules,
  });
  return {
    "jaws-site-daemon": site("site-daemon.log", "daemon"),
    // The JTM RPC server always logged at DEBUG.
    "jaws-site-jtm-rpc": site("site-jtm-rpc.log", "jtm-rpc", "DEBUG"),
    "jaws-site-central-rpc": site("site-central-rpc.log", "central-rpc"),
  };
}

/**
 * The cwl-backend (jtm) instance: JTM's manager and Cromwell, both with the JTM release (Cromwell's
 * backend calls `jtm`). JTM starts first and stops last (priority 1 < 9), so Cromwell never runs
 * without the job manager it submits to.
 */
export function coriEraBackendPrograms(
  d: DeploymentContext,
  site: { readonly modules: readonly string[]; readonly jtmScratch: string },
): Record<string, SiteService> {
  const p = coriEraPaths(d.settings.installDirectory);
  return {
    "jaws-jtm": {
      ...CORI_ERA,
      command: ["jtm", `--config=${p.configs}/jaws-jtm.conf`, "--debug", "manager", "-ld", p.logs],
      environment: { JTM_CONFIG_FILE: `${p.configs}/jaws-jtm.conf` },
      releaseId: JAWS_JTM_RELEASE,
      priority: 1,
      loginShell: true,
      shellPreamble: site.modules,
    },
    // Its shim (deploy-cromwell) was `#!/usr/bin/env bash`, not a login shell, with JTM's venv on
    // PATH (Cromwell's backend calls jtm: a new JTM restarts it), run from the JTM scratch directory,
    // output to two files.
    "jaws-cromwell": {
      ...CORI_ERA,
      command: [
        "java",
        "-Xmx5g",
        `-Dconfig.file=${p.configs}/cromwell.conf`,
        `-Djava.io.tmpdir=${site.jtmScratch}/cromwell-tmp`,
        "-jar",
        p.cromwellJar,
        "server",
      ],
      releaseId: JAWS_JTM_RELEASE,
      directory: site.jtmScratch,
      stdoutLogfile: `${p.logs}/cromwell.out`,
      stderrLogfile: `${p.logs}/cromwell.err`,
      priority: 9,
      startsecs: 10,
      // Cromwell needs time to checkpoint running workflows.
      stopwaitsecs: 120,
    },
  };
}

// ---- Today (branch main, jaws-site 2.x): one instance per site and deployment -----------------

/**
 * How a site runs jaws-site: JAWS's own venv or Apptainer image (the facts of its CI), or the
 * versioned release jaws-deploy installs (PythonRelease `jaws-site`, with `jaws-site.conf`).
 */
export interface JawsSiteRuntime {
  readonly install: "venv" | "apptainer-run" | "release";
  /** jaws-site release: the image is `<install>/bin/site-<version>.sif`. */
  readonly version: string;
  /** Path of apptainer on the host. */
  readonly apptainer: string;
  /** The site's Python module line, run in venv wrappers before the venv (the image has its own Python). */
  readonly modules: readonly string[];
}

/** Layout of a deployment today (templates/all.sh): `<install>/{bin,config,log,site}`. */
export const jawsSitePaths = (install: string) => ({
  bin: `${install}/bin`,
  config: `${install}/config`,
  log: `${install}/log`,
  venv: `${install}/site`,
});

/** supervisord program -> jaws-site subcommand, in the group's `programs=` order (templates/supervisor.site.conf). */
export const JAWS_SITE_PROGRAMS = {
  runs: "run-daemon",
  transfers: "transfer-daemon",
  "rpc-server": "rpc-server",
  "message-consumer": "message-consumer",
} as const;

/** Log file of each subcommand in the venv shims (templates/{runs,transfers,rpc-server,message-consumer}.sh). */
const VENV_LOGS: Record<string, string> = {
  "run-daemon": "site-run-daemon.log",
  "transfer-daemon": "site-transfer-daemon.log",
  "rpc-server": "site-rpc.log",
  "message-consumer": "message-consumer.log",
};

/** The four programs of group `jaws-site`, each numprocs=1 startsecs=3 startretries=10 stopasgroup=true autorestart=unexpected. */
export function jawsSitePrograms(d: DeploymentContext, runtime: JawsSiteRuntime): Record<string, SiteService> {
  const p = jawsSitePaths(d.settings.installDirectory);
  const level = d.settings.logLevel ?? "INFO";
  const command = (sub: string): string[] =>
    runtime.install !== "apptainer-run"
      ? ["jaws-site", "--log", `${p.log}/${VENV_LOGS[sub]}`, "--config", `${p.config}/jaws-site.conf`, "--log-level", level, sub]
      : // The image's runscript adds `--config /etc/config/site/jaws-site.conf` (the mounted file).
        [
          runtime.apptainer,
          "run",
          "--cleanenv",
          `--env-file=${p.config}/site.env`,
          "--no-home",
          "--mount",
          `src=${p.config}/jaws-site.conf,dst=/etc/config/site/jaws-site.conf,ro`,
          "--mount",
          `src=${p.log},dst=/var/log/site`,
          `${p.bin}/site-${runtime.version}.sif`,
          "--log",
          `/var/log/site/${sub}.log`,
          "--log-level",
          level,
          sub,
        ];
  return Object.fromEntries(
    Object.entries(JAWS_SITE_PROGRAMS).map(([program, sub]) => [
      program,
      {
        command: command(sub),
        startsecs: 3,
        startretries: 10,
        stopasgroup: true,
        autorestart: "unexpected",
        loginShell: true,
        ...(runtime.install === "venv" ? { venv: p.venv, shellPreamble: runtime.modules } : {}),
        ...(runtime.install === "release"
          ? { releaseId: JAWS_SITE_RELEASE, configFileIds: [JAWS_SITE_CONF], shellPreamble: runtime.modules }
          : {}),
      } satisfies SiteService,
    ]),
  );
}
