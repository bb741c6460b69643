import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Testing } from "cdktf";
import { beforeAll, describe, expect, it } from "vitest";
import type { SupervisorInstance } from "../../constructs";
import { SITES, selectSites } from "../../sites";
import { EnvironmentError, hostKeyVariable, hostVariable, readEnvironment } from "../../sites/environment";
import { addSiteStacks, type StackSelection } from "../../sites/stacks";
import {
  deployBundle,
  type Json,
  pythonShlexSplit,
  realBaseDirectory,
  resourceOf,
  SAMPLE_HOST_KEY,
  secretsScript,
  synthStacks,
  TEMPLATES,
} from "../support/fixtures";
import { type ParsedConfig, parseSupervisordConfig, requireSupervisordParser } from "../support/supervisord-parser";

const ROOT = resolve(__dirname, "..", "..");
const DEPLOYABLE = ["cori", "jgi", "tahoma", "nmdc_tahoma", "defiant", "perlmutter", "nmdc", "kbase"];
/** The NERSC sites: supervisord in a Slurm job (the Slurm launcher). */
const NERSC = ["perlmutter", "nmdc", "kbase"];
const DEPLOYMENTS = ["dev", "staging", "prod"];

/** What an operator supplies for the sites without a pinned key or a known host (CI variables do this). */
const operatorEnv: Record<string, string> = {
  ...Object.fromEntries(Object.keys(SITES).map((s) => [hostKeyVariable(s), SAMPLE_HOST_KEY])),
  JAWS_HOST_NMDC_TAHOMA: "twf2.emsl.pnl.gov",
  JAWS_HOST_DEFIANT: "defiant.example.org",
};

/** The stacks of every site, with the settings the app reads from `env` (JAWS_DEPLOYMENT, JAWS_STATE_BACKEND...). */
function synthSites(env: NodeJS.ProcessEnv): Record<string, Json> {
  const { sites, selection } = readEnvironment({ JAWS_SITES: "all", ...env });
  return synthStacks((app) => {
    for (const site of sites) addSiteStacks(app, site, selection);
  });
}

let devStacks: Record<string, Json> | undefined;
/** Every site's stacks for dev with the default backend: synthesized once for the whole file. */
const allDev = (): Record<string, Json> => {
  devStacks ??= synthSites(operatorEnv);
  return devStacks;
};

/** The instances of one site and deployment, as the app builds them (operator's hosts and keys). */
function instancesOf(site: string, deployment: string): SupervisorInstance[] {
  const { selection } = readEnvironment({ ...operatorEnv, JAWS_SITES: site, JAWS_DEPLOYMENT: deployment });
  const app = Testing.app();
  const instances = addSiteStacks(app, SITES[site], selection);
  app.synth();
  return instances;
}

/**
 * A rendered config loaded by supervisord's parser as the host would: the site's absolute paths
 * moved under `root` (the parser wants the directories of logs, pidfile and `directory=` to exist).
 */
function parseAsOnHost(instance: SupervisorInstance, root: string): ParsedConfig {
  const m = instance.model();
  const moved = instance.render().supervisordConf.replace(/(?<=[=\s])\/(?=global\/|tahoma\/|ccsopen\/|lustre\/|clusterfs\/)/g, `${root}/`);
  for (const [, key, path] of moved.matchAll(/^(\w*logfile|pidfile|childlogdir|directory)=(\/.*)$/gm)) {
    mkdirSync(key === "childlogdir" || key === "directory" ? path : dirname(path), { recursive: true });
  }
  const dir = `${root}${m.dir}`;
  mkdirSync(join(dir, "secret"), { recursive: true });
  writeFileSync(join(dir, "secret", "auth.conf"), `[inet_http_server]\nusername=${m.name}-${m.deployment}\npassword=not-the-real-key\n`);
  // The NERSC configs name the node's address, which their Slurm job exports.
  const env = { ...process.env, PYTHONPATH: TEMPLATES, JAWS_SUPERVISOR_ADDRESS: "10.100.0.7" };
  return parseSupervisordConfig(moved, { file: join(dir, "supervisord.conf"), env });
}

/** The argv a wrapper execs, split by Python's shlex (bash's words for the wrapper's quoting). */
function execArgv(instance: SupervisorInstance, program: string): string[] {
  const wrapper = instance.render().wrappers.get(program) ?? "";
  const line = wrapper.split("\n").find((l) => l.startsWith("exec "));
  return pythonShlexSplit((line ?? "").slice("exec ".length));
}

describe("the site catalogue", () => {
  it("has Cori and the eight sites JAWS deploys to today, each with its launch tool", () => {
    expect(Object.fromEntries(Object.values(SITES).map((s) => [s.name, s.launch ?? "supervisor"]))).toEqual({
      cori: "supervisor",
      jgi: "supervisor",
      tahoma: "supervisor",
      nmdc_tahoma: "supervisor",
      defiant: "supervisor",
      perlmutter: "scrontab",
      nmdc: "scrontab",
      kbase: "scrontab",
      dori: "systemd",
    });
  });

  it("JAWS_SITES=all synthesizes every supervisor- and Slurm-launched site: two stacks for Cori, one for each site today", () => {
    expect(selectSites("all").map((s) => s.name)).toEqual(DEPLOYABLE);
    expect(Object.keys(allDev())).toEqual([
      "jaws-cori",
      "jtm-cori",
      "jaws-jgi",
      "jaws-tahoma",
      "jaws-nmdc_tahoma",
      "jaws-defiant",
      "jaws-perlmutter",
      "jaws-nmdc",
      "jaws-kbase",
    ]);
  });

  it("refuses the systemd site at synth, saying why", () => {
    const message = /site dori is launched by systemd .*jaws-deploy deploys supervisor-launched and Slurm-launched \(scrontab\) sites only/;
    expect(() => addSiteStacks(Testing.app(), SITES.dori, { deployment: "dev" })).toThrow(message);
    expect(() => readEnvironment({ ...operatorEnv, JAWS_SITES: "dori" })).toThrow(message);
    expect(() => readEnvironment({ JAWS_SITES: "dori" })).toThrow(/systemd launcher is not part of jaws-deploy/);
  });

  it.each(NERSC)("%s deploys with the Slurm launcher: the reference's starter.sh options, scrontab, the node's address", (site) => {
    const [instance] = instancesOf(site, "prod");
    const m = instance.model();
    expect(m.ssh.host).toBe("perlmutter.nersc.gov");
    expect(m.launcher).toEqual({
      kind: "slurm",
      jobName: `jaws_${site}_prod`,
      qos: "workflow",
      constraint: "cron",
      account: undefined,
      partition: undefined,
      timeLimit: "90-00:00:00",
      maintenanceBufferMinutes: 120,
      cpusPerTask: 16,
      starter: "scrontab",
      starterSchedule: "*/5 * * * *",
      starterOptions: ["--qos=cron", "--time=00:10:00"],
      addressHook: [],
    });
    const port = SITES[site].deployments.prod.supervisordPorts.jaws;
    expect(m.control).toEqual({ kind: "inet", host: "%(ENV_JAWS_SUPERVISOR_ADDRESS)s", port });
    const files = Object.fromEntries(instance.render().files.map((f) => [f.path, f.content]));
    expect(files["supervisord.conf"]).toContain(`[inet_http_server]\nport=%(ENV_JAWS_SUPERVISOR_ADDRESS)s:${port}\n`);
    expect(files["supervisord.conf"]).toMatch(/^nodaemon=true$/m);
    expect(files["lib/jaws-lib.sh"]).toContain(
      "SLURM_SBATCH_OPTIONS=(--qos=workflow --constraint=cron --time=90-00:00:00 --cpus-per-task=16)",
    );
    expect(files["lib/starter.scrontab"]).toContain(
      `#SCRON --job-name=jaws_${site}_prod-starter\n#SCRON --qos=cron\n#SCRON --time=00:10:00\n*/5 * * * * ${m.dir}/bin/starter >>`,
    );
    expect(files["bin/deploy"]).toMatch(/^install_scrontab_entry$/m);
    expect(files["bin/deploy"]).toMatch(/^remove_cron_entry$/m);
  });

  it("takes host keys from JAWS_HOST_KEY_<SITE> before sites/known_hosts", () => {
    const key = (id: string) => resourceOf(allDev()[id]).triggers.host_key;
    expect(key("jaws-jgi")).toBe(SAMPLE_HOST_KEY);
    expect(key("jaws-cori")).toBe(SAMPLE_HOST_KEY);
    expect(readEnvironment({ JAWS_SITES: "cori,jgi", JAWS_HOST_KEY_JGI: ` ${SAMPLE_HOST_KEY}\n` }).selection.hostKeys).toEqual({
      jgi: SAMPLE_HOST_KEY,
    });
    const pinned = synthStacks((app) => addSiteStacks(app, SITES.cori, { deployment: "dev" }));
    expect(Object.keys(pinned)).toEqual(["jaws-cori", "jtm-cori"]);
    expect(resourceOf(pinned["jaws-cori"]).triggers.host_key).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E/);
  });

  it("needs the operator's host where the site's is unknown, and a pinned key, saying how", () => {
    const read = () => readEnvironment({ JAWS_SITES: "jgi,defiant" });
    expect(read).toThrow(EnvironmentError);
    expect(read).toThrow(
      /JAWS_HOST_KEY_JGI: no pinned host key for lrc-services\.lbl\.gov .*`ssh-keyscan -t ed25519 lrc-services\.lbl\.gov`/,
    );
    expect(read).toThrow(/JAWS_HOST_DEFIANT: site defiant's service host is not known: set it to the host its supervisord runs on/);
    expect(hostVariable("nmdc_tahoma")).toBe("JAWS_HOST_NMDC_TAHOMA");
    const { selection } = readEnvironment({
      JAWS_SITES: "defiant",
      JAWS_HOST_DEFIANT: "dtn.example.org",
      JAWS_HOST_KEY_DEFIANT: SAMPLE_HOST_KEY,
    });
    expect(selection.hosts).toEqual({ defiant: "dtn.example.org" });
    expect(resourceOf(synthStacks((app) => addSiteStacks(app, SITES.defiant, selection))["jaws-defiant"]).triggers.host).toBe(
      "dtn.example.org",
    );
    // Straight to the stack builder (no environment): the same requirement.
    expect(() => addSiteStacks(Testing.app(), SITES.defiant, { deployment: "dev" })).toThrow(
      /site defiant: its service host is not known: name it in JAWS_HOST_DEFIANT/,
    );
    const app = Testing.app();
    addSiteStacks(app, SITES.jgi, { deployment: "dev" });
    expect(() => app.synth()).toThrow(
      /\[jaws-jgi\/supervisor\] hostKey: is required .*ssh-keyscan -p 22 -t ed25519 lrc-services\.lbl\.gov/,
    );
  });

  it("refuses an unknown site name", () => {
    expect(() => selectSites("cori,mars")).toThrow(
      /unknown site "mars" \(known: cori, jgi, tahoma, nmdc_tahoma, defiant, perlmutter, nmdc, kbase, dori, or all\)/,
    );
  });
});

describe("every deployable site and deployment", () => {
  beforeAll(requireSupervisordParser);

  it.each(DEPLOYABLE.flatMap((s) => DEPLOYMENTS.map((d) => [s, d])))(
    "%s %s: synthesizes, and supervisord's parser loads its configs",
    (site, d) => {
      const { base, cleanup } = realBaseDirectory();
      try {
        for (const instance of instancesOf(site, d)) {
          const m = instance.model();
          const parsed = parseAsOnHost(instance, base);
          const programs = m.services.map((s) => s.name);
          expect(parsed.groups).toEqual([{ name: m.group.name, kind: "program", priority: 999, programs }]);
          // The NERSC sites' supervisord listens on its node's address (here the one the test exports).
          const inetHost = NERSC.includes(site) ? "10.100.0.7" : "127.0.0.1";
          expect(parsed.server.inet).toMatchObject({ host: inetHost, port: m.control.kind === "inet" ? m.control.port : -1 });
          expect(parsed.programs.map((p) => [p.name, p.startretries, p.autorestart])).toEqual(programs.map((p) => [p, 10, "unexpected"]));
        }
      } finally {
        cleanup();
      }
    },
  );
});

describe("Cori as it ran (branch master of JAWS: define-env, generate-shims, deploy-supervisord, deploy-cromwell)", () => {
  const install = "/global/cfs/projectdirs/jaws/jaws-install/jaws-prod";
  const [L, C] = [`${install}/logs`, `${install}/configs`];
  // The era's venvs <install>/site and <install>/jtm are versioned releases of JAWS 2.6.0 here.
  const SUP = "/global/cfs/projectdirs/jaws/jaws-install/jaws-supervisord-prod";
  const siteRelease = { package: "jaws_site", version: "2.6.0", venv: `${SUP}/jaws-prod/releases/jaws_site/current` };
  const jtmRelease = { package: "jaws_jtm", version: "2.6.0", venv: `${SUP}/jtm-prod/releases/jaws_jtm/current` };
  const site = (log: string, level: string, sub: string) => [
    ["jaws-site", "--log", `${L}/${log}`, "--config", `${C}/jaws-site.conf`, "--log-level", level, sub],
    {
      venv: siteRelease.venv,
      release: siteRelease,
      configFiles: [`${C}/jaws-site.conf`],
      loginShell: true,
      priority: 999,
      startsecs: 3,
      startretries: 10,
      stopwaitsecs: 10,
    },
  ];
  // prod: the reference's log level INFO, except jtm-rpc which always logged at DEBUG.
  const REFERENCE: Record<string, [string, (string[] | Record<string, unknown>)[]][]> = {
    "jaws-cori": [
      ["jaws-site-daemon", site("site-daemon.log", "INFO", "daemon")],
      ["jaws-site-jtm-rpc", site("site-jtm-rpc.log", "DEBUG", "jtm-rpc")],
      ["jaws-site-central-rpc", site("site-central-rpc.log", "INFO", "central-rpc")],
    ],
    "jtm-cori": [
      [
        "jaws-jtm",
        [
          ["jtm", `--config=${C}/jaws-jtm.conf`, "--debug", "manager", "-ld", L],
          {
            venv: jtmRelease.venv,
            release: jtmRelease,
            loginShell: true,
            priority: 1,
            startsecs: 3,
            startretries: 10,
            environment: { JTM_CONFIG_FILE: `${C}/jaws-jtm.conf` },
          },
        ],
      ],
      [
        "jaws-cromwell",
        [
          [
            "java",
            "-Xmx5g",
            `-Dconfig.file=${C}/cromwell.conf`,
            "-Djava.io.tmpdir=/global/cscratch1/sd/jaws_jtm/jaws-prod/cromwell-tmp",
            "-jar",
            `${install}/cromwell.jar`,
            "server",
          ],
          {
            venv: jtmRelease.venv,
            release: jtmRelease,
            loginShell: false,
            priority: 9,
            startsecs: 10,
            startretries: 10,
            stopwaitsecs: 120,
            stdoutLogfile: `${L}/cromwell.out`,
            stderrLogfile: `${L}/cromwell.err`,
            directory: "/global/cscratch1/sd/jaws_jtm/jaws-prod",
          },
        ],
      ],
    ],
  };
  const [jaws, jtm] = instancesOf("cori", "prod");
  const byStack: Record<string, SupervisorInstance> = { "jaws-cori": jaws, "jtm-cori": jtm };

  it.each(
    Object.entries(REFERENCE).flatMap(([stack, rows]) => rows.map(([program, [argv, options]]) => ({ stack, program, argv, options }))),
  )("$stack $program: the command and options of the reference", ({ stack, program, argv, options }) => {
    const service = byStack[stack].model().services.find((s) => s.name === program);
    expect(service).toMatchObject({ ...options, autorestart: "unexpected", numprocs: 1, stopasgroup: false, killasgroup: false });
    expect(execArgv(byStack[stack], program)).toEqual(argv);
    expect(byStack[stack].render().wrappers.get(program)).toMatch(
      /\nLANG=\$\(jaws_locale en_US\.UTF-8\)\nexport LANG LC_ALL=\$LANG\n[\s\S]*\nexport PYTHONIOENCODING=utf-8\n/,
    );
  });

  it("has exactly those programs, in the order of each group's programs= line", () => {
    expect(jaws.model().services.map((s) => s.name)).toEqual(REFERENCE["jaws-cori"].map(([p]) => p));
    expect(jtm.model().services.map((s) => s.name)).toEqual(REFERENCE["jtm-cori"].map(([p]) => p));
  });

  it("runs two instances per deployment: users, identifiers, group jaws-<dep> at 999, ports, SUPERVISOR_DIR", () => {
    const facts = (i: SupervisorInstance) => {
      const m = i.model();
      return [m.ssh.user, m.supervisord.identifier, m.group, m.control, m.dir, m.python.preamble];
    };
    const modules = ["module load python/3.8-anaconda-2020.11"];
    const supervisorDir = "/global/cfs/projectdirs/jaws/jaws-install/jaws-supervisord-prod";
    expect(facts(jaws)).toEqual([
      "jaws",
      "supervisor-jaws-prod",
      { name: "jaws-prod", priority: 999 },
      { kind: "inet", host: "127.0.0.1", port: 64103 },
      `${supervisorDir}/jaws-prod`,
      modules,
    ]);
    expect(facts(jtm)).toEqual([
      "jaws_jtm",
      "supervisor-backend-prod",
      { name: "jaws-prod", priority: 999 },
      { kind: "inet", host: "127.0.0.1", port: 64113 },
      `${supervisorDir}/jtm-prod`,
      modules,
    ]);
    const ports = (d: string) => instancesOf("cori", d).map((i) => i.model().control);
    expect(ports("dev")).toEqual([expect.objectContaining({ port: 64101 }), expect.objectContaining({ port: 64111 })]);
    expect(SITES.cori.deployments.staging).toMatchObject({
      cromwellPort: 50102,
      logLevel: "DEBUG",
      supervisordPorts: { jaws: 64102, jtm: 64112 },
    });
  });

  it("declares the directories define-env and the shims made, with their groups and modes", () => {
    const dirs = (i: SupervisorInstance) => i.model().directories.map((d) => [d.path, d.group, d.mode]);
    expect(dirs(jaws)).toEqual([
      [install, "jaws_jtm", "0770"],
      [C, "jaws_jtm", "0770"],
      [L, "jaws_jtm", "0770"],
      [`${L}/cromwell-workflow-logs`, "jaws_jtm", "0770"],
      ["/global/cscratch1/sd/jaws/jaws-prod", "jaws_jtm", "2775"],
      ["/global/cscratch1/sd/jaws/jaws-prod/inputs", "jaws_jtm", "2775"],
      ["/global/cfs/projectdirs/jaws/data-repository-prod", "genome", "2775"],
    ]);
    expect(dirs(jtm)).toEqual([
      ["/global/cscratch1/sd/jaws_jtm/jaws-prod", "jaws_jtm", "2775"],
      ["/global/cscratch1/sd/jaws_jtm/jaws-prod/cromwell-executions", "jaws_jtm", "0775"],
      ["/global/cscratch1/sd/jaws_jtm/jaws-prod/cromwell-tmp", "jaws_jtm", "0770"],
      ["/global/cscratch1/sd/jaws_jtm/shifter_files", "jaws_jtm", "0770"],
    ]);
    expect([jaws, jtm].flatMap((i) => i.model().preflight)).toEqual([]);
  });
});

describe("the sites today (branch main of JAWS, release 2.5.4)", () => {
  it.each([
    ["jgi", "jaws", "jaws", "/global/home/groups-sw/lr_jgicloud/jaws-install", 64101, 50101],
    ["tahoma", "svc-jtm-manager", "svc-jtm-manager", "/tahoma/mscjgi/jaws-install", 64101, 50101],
    ["nmdc_tahoma", "svcnmdcuser", "mscnmdc", "/tahoma/mscnmdc/jaws-install", 64101, 50101],
    ["defiant", "bif150_auser", "bif150", "/ccsopen/home/bif150_auser/jaws-install", 64101, 50101],
    ["perlmutter", "jaws", "jaws", "/global/cfs/cdirs/jaws/jaws-install", 64101, 50101],
    ["nmdc", "nmjaws", "nmjaws", "/global/cfs/cdirs/m3408/jaws-install", 64104, 50104],
    ["kbase", "kbjaws", "kbjaws", "/global/cfs/cdirs/kbase/jaws", 64107, 50104],
    ["dori", "svc-jaws", "grp-svc-jaws", "/clusterfs/jgi/groups/dsi/homes/svc-jaws/jaws-install", 64101, 50101],
  ])("%s: user %s, group %s, install base %s, dev ports %i / Cromwell %i", (name, user, group, base, port, cromwell) => {
    const site = SITES[name];
    expect(site.instances.map((i) => [i.name, i.user])).toEqual([["jaws", user]]);
    expect(Object.keys(site.deployments)).toEqual(DEPLOYMENTS);
    DEPLOYMENTS.forEach((d, n) => {
      expect(site.deployments[d]).toEqual({
        installDirectory: `${base}/${name}-${d}`,
        logLevel: d === "prod" ? "INFO" : "DEBUG",
        cromwellPort: cromwell + n,
        supervisordPorts: { jaws: port + n },
      });
    });
    const props = site.instances[0].props?.({ site: name, deployment: "dev", settings: site.deployments.dev });
    expect(props?.directories?.every((d) => d.group === group)).toBe(true);
  });

  it("JGI prod: group jaws-site, the four programs of the jaws-site release with their options and config file, drop-ins, preflight", () => {
    const [jgi] = instancesOf("jgi", "prod");
    const m = jgi.model();
    const I = "/global/home/groups-sw/lr_jgicloud/jaws-install/jgi-prod";
    expect([m.name, m.supervisord.identifier, m.group, m.control, m.dir]).toEqual([
      "jaws",
      "supervisor-jaws-prod",
      { name: "jaws-site", priority: 999 },
      { kind: "inet", host: "127.0.0.1", port: 64103 },
      `${I}/supervisor/jaws-prod`,
    ]);
    expect(m.python.preamble).toEqual(["module load python/3.11.6-gcc-11.4.0"]);
    const subcommands = {
      runs: "run-daemon",
      transfers: "transfer-daemon",
      "rpc-server": "rpc-server",
      "message-consumer": "message-consumer",
    };
    expect(m.services.map((s) => s.name)).toEqual(Object.keys(subcommands));
    for (const [program, sub] of Object.entries(subcommands)) {
      const s = m.services.find((x) => x.name === program);
      expect(s).toMatchObject({
        startsecs: 3,
        startretries: 10,
        stopasgroup: true,
        killasgroup: true,
        autorestart: "unexpected",
        loginShell: true,
        // jaws-deploy installs the release JAWS pulled as bin/site-2.5.4.sif, into a venv of its own.
        venv: `${m.dir}/releases/jaws-site/current`,
        release: { package: "jaws-site", version: "2.5.4", venv: `${m.dir}/releases/jaws-site/current` },
        configFiles: [`${I}/config/jaws-site.conf`],
        shellPreamble: ["module load python/3.11.6-gcc-11.4.0"],
      });
      expect(execArgv(jgi, program)).toEqual([
        "jaws-site",
        "--log",
        `${I}/log/${{ "run-daemon": "site-run-daemon.log", "transfer-daemon": "site-transfer-daemon.log", "rpc-server": "site-rpc.log", "message-consumer": "message-consumer.log" }[sub]}`,
        "--config",
        `${I}/config/jaws-site.conf`,
        "--log-level",
        "INFO",
        sub,
      ]);
    }
    expect(m.releases).toEqual([
      expect.objectContaining({ package: "jaws-site", version: "2.5.4", findLinks: [`${I}/wheels`], noIndex: false, keepReleases: 3 }),
    ]);
    // jaws-site.conf: templates/site.conf's sections, plain facts of configs/sites/jgi.sh, secrets from CI variables.
    const [conf] = m.configFiles;
    expect(conf).toMatchObject({ file: `${I}/config/jaws-site.conf`, mode: "0600", format: "ini" });
    const text = jgi.render().configFiles.get(conf.file) ?? "";
    expect([...text.matchAll(/^\[(\w+)\]$/gm)].map((x) => x[1])).toEqual(["DB", "RMQ", "GLOBUS", "SITE", "CROMWELL", "AWS"]);
    expect(text).toContain("db = jaws_jgi_prod\n");
    expect(text).toContain("endpoint_id = e8b18c38-36cd-11eb-b54c-02d9497ca481\n");
    expect(text).toContain("num_threads = 16\n");
    expect(text).toContain("url = http://localhost:50103\n");
    expect(text).toContain("password = @@JAWS_SECRET(db_password)@@\n");
    expect(Object.values(conf.secrets).map((x) => x?.variable)).toEqual([
      "JAWS_SECRET_JGI_PROD_DB_PASSWORD",
      "JAWS_SECRET_JGI_PROD_RMQ_PASSWORD",
      "JAWS_SECRET_JGI_PROD_GLOBUS_CLIENT_SECRET",
      "JAWS_SECRET_JGI_PROD_AWS_ACCESS_KEY_ID",
      "JAWS_SECRET_JGI_PROD_AWS_SECRET_ACCESS_KEY",
    ]);
    expect(m.includeFiles).toEqual([`${I}/config/supervisor.*.conf`]);
    expect(m.setfacl).toBe(true);
    const scratch = "/global/scratch/users/jaws/jgi-prod";
    expect(m.directories).toEqual([
      { path: `${I}/bin`, group: "jaws", mode: "0750", defaultAcl: [] },
      { path: `${I}/config`, group: "jaws", mode: "0750", defaultAcl: [] },
      { path: `${I}/log`, group: "jaws", mode: "0750", defaultAcl: [] },
      { path: scratch, group: "jaws", mode: "0775", defaultAcl: ["g:jaws:rwx", "g:jgi:rwx"] },
      { path: `${scratch}/inputs`, group: "jaws", mode: "0775", defaultAcl: ["g:jaws:rwx", "g:jgi:rwx"] },
      { path: `${scratch}/downloads`, group: "jaws", mode: "0775", defaultAcl: ["g:jaws:rwx", "g:jgi:rwx"] },
      { path: `${scratch}/cromwell-executions`, group: "jaws", mode: "0775", defaultAcl: ["g:jaws:rwx", "g:jgi:rx"] },
    ]);
    expect(m.preflight.map((e) => `${e.host}:${e.port}`)).toEqual([
      "jaws-rmq.jgi.lbl.gov:5672",
      "jaws-db.jgi.lbl.gov:3306",
      "jaws.jgi.doe.gov:443",
      "jaws-rmq.jgi.doe.gov:443",
      "jaws-ingest.jgi.doe.gov:443",
    ]);
  });

  it("Tahoma's sites check the EMSL proxy instead of the HTTPS hosts; Defiant, without a users group, opens scratch to others", () => {
    const [tahoma] = instancesOf("tahoma", "dev");
    expect(tahoma.model().preflight.map((e) => `${e.host}:${e.port}`)).toEqual([
      "jaws-rmq.jgi.lbl.gov:5672",
      "jaws-db.jgi.lbl.gov:3306",
      "proxy.emsl.pnl.gov:3128",
    ]);
    const [defiant] = instancesOf("defiant", "dev");
    const scratch = defiant.model().directories.find((d) => d.path === "/lustre/polis/bif150/proj-shared/jaws/defiant-dev");
    expect(scratch).toEqual({ path: scratch?.path, group: "bif150", mode: "0777", defaultAcl: ["g:bif150:rwx", "o::rwx"] });
  });

  it("Dori (data only) turns ACLs off and keeps inputs 2777; NERSC's venv sites run jaws-site from the venv after the module line", () => {
    const props = (name: string) =>
      SITES[name].instances[0].props?.({ site: name, deployment: "dev", settings: SITES[name].deployments.dev });
    const dori = props("dori");
    expect(dori?.setfacl).toBe(false);
    expect(dori?.directories?.find((d) => d.path.endsWith("/inputs"))).toMatchObject({ mode: "2777", defaultAcl: [] });
    expect(props("perlmutter")?.nodaemon).toBe(true);
    const install = "/global/cfs/cdirs/jaws/jaws-install/perlmutter-dev";
    const runs = SITES.perlmutter.instances[0].services({
      site: "perlmutter",
      deployment: "dev",
      settings: SITES.perlmutter.deployments.dev,
    }).runs;
    expect(runs).toMatchObject({
      command: [
        "jaws-site",
        "--log",
        `${install}/log/site-run-daemon.log`,
        "--config",
        `${install}/config/jaws-site.conf`,
        "--log-level",
        "DEBUG",
        "run-daemon",
      ],
      venv: `${install}/site`,
      loginShell: true,
      shellPreamble: ["module load python/3.11"],
    });
  });

  it("jaws-perlmutter (the Slurm launcher) matches its snapshot (the bundle decoded, so a review reads its lines)", () => {
    const stack = structuredClone(allDev()["jaws-perlmutter"]);
    const deploy = resourceOf(stack);
    const bundle = deployBundle(deploy);
    deploy.provisioner[0]["remote-exec"].inline = ['${base64decode("<the bundle below, in base64>")}'];
    expect(stack).toMatchSnapshot();
    expect(bundle).toMatchSnapshot();
  });

  it("jaws-jgi matches its snapshot (the bundle decoded, so a review reads its lines)", () => {
    const stack = structuredClone(allDev()["jaws-jgi"]);
    const deploy = resourceOf(stack);
    const bundle = deployBundle(deploy);
    deploy.provisioner[0]["remote-exec"].inline = ['${base64decode("<the bundle below, in base64>")}'];
    const secrets = resourceOf(stack, "null_resource", "config_secrets");
    const send = secretsScript(secrets);
    secrets.provisioner[0]["local-exec"].command = '${base64decode("<the send script below, in base64>")}';
    expect(stack).toMatchSnapshot();
    expect(bundle).toMatchSnapshot();
    expect(send).toMatchSnapshot();
  });
});

describe("state backends: one state per stack and deployment, no credential in the JSON", () => {
  const secretEnv = { ...operatorEnv, TF_HTTP_PASSWORD: "glpat-SECRET", PG_CONN_STR: "postgres://u:SECRETPW@db/x" };

  it("local: a relative path per deployment", () => {
    const dev = allDev();
    const prod = synthSites({ ...operatorEnv, JAWS_DEPLOYMENT: "prod" });
    expect(dev["jaws-jgi"].terraform.backend.local.path).toBe("../../../state/dev/terraform.jaws-jgi.tfstate");
    expect(prod["jaws-jgi"].terraform.backend.local.path).toBe("../../../state/prod/terraform.jaws-jgi.tfstate");
  });

  it("gitlab: the project's state API with lock and unlock, credentials left to TF_HTTP_*", () => {
    const env = { ...secretEnv, CI_API_V4_URL: "https://gitlab.example.org/api/v4", CI_PROJECT_ID: "1234" };
    const stacks = synthSites({ ...env, JAWS_DEPLOYMENT: "staging", JAWS_STATE_BACKEND: "gitlab" });
    const http = stacks["jaws-cori"].terraform.backend.http;
    const address = "https://gitlab.example.org/api/v4/projects/1234/terraform/state/jaws-cori-staging";
    expect(http).toEqual({
      address,
      lock_address: `${address}/lock`,
      unlock_address: `${address}/lock`,
      lock_method: "POST",
      unlock_method: "DELETE",
      retry_wait_min: 5,
    });
    expect(JSON.stringify(stacks)).not.toMatch(/glpat-SECRET|SECRETPW/);
  });

  it("gitlab without the project settings is a clear error", () => {
    expect(() => synthSites({ ...operatorEnv, JAWS_STATE_BACKEND: "gitlab" })).toThrow(
      /needs JAWS_GITLAB_API_URL and JAWS_GITLAB_PROJECT_ID/,
    );
  });

  it("pg: a schema per stack and deployment, connection from PG_CONN_STR", () => {
    const stacks = synthSites({ ...secretEnv, JAWS_DEPLOYMENT: "prod", JAWS_STATE_BACKEND: "pg" });
    expect(stacks["jtm-cori"].terraform.backend.pg).toEqual({ schema_name: "jaws_deploy_jtm_cori_prod" });
    expect(stacks["jaws-nmdc_tahoma"].terraform.backend.pg).toEqual({ schema_name: "jaws_deploy_jaws_nmdc_tahoma_prod" });
    expect(JSON.stringify(stacks)).not.toMatch(/glpat-SECRET|SECRETPW/);
  });
});

describe("the app's environment (sites/environment.ts)", () => {
  it("defaults: Cori, dev, local state, null_resource, ssh-agent", () => {
    const { sites, selection } = readEnvironment({});
    expect(sites.map((s) => s.name)).toEqual(["cori"]);
    expect(selection).toEqual({
      deployment: "dev",
      deployResource: "null_resource",
      stateBackend: "local",
      hostKeys: {},
      hosts: {},
    } satisfies StackSelection);
  });

  it("lists every bad variable at once, each with what it accepts", () => {
    const read = () =>
      readEnvironment({ JAWS_SITES: "cori", JAWS_DEPLOYMENT: "qa", JAWS_STATE_BACKEND: "s3", JAWS_DEPLOY_RESOURCE: "aws_instance" });
    expect(read).toThrow(EnvironmentError);
    expect(read).toThrow(/JAWS_DEPLOYMENT="qa": site cori has dev, staging, prod/);
    expect(read).toThrow(/JAWS_STATE_BACKEND="s3": must be one of local, gitlab, pg/);
    expect(read).toThrow(/JAWS_DEPLOY_RESOURCE="aws_instance": must be one of null_resource, terraform_data/);
    expect(() => readEnvironment({ JAWS_SITES: "mars" })).toThrow(/JAWS_SITES .*unknown site "mars"/);
  });

  it("reads the key files, redeploy token and GitLab project (CI variables as fallback)", () => {
    const { selection } = readEnvironment({
      JAWS_SSH_KEY_FILE: "~/.ssh/deploy",
      JAWS_SSH_CERT_FILE: "~/.ssh/deploy-cert.pub",
      JAWS_REDEPLOY: "42",
      JAWS_STATE_BACKEND: "gitlab",
      CI_API_V4_URL: "https://gitlab.example.org/api/v4",
      CI_PROJECT_ID: "7",
      JAWS_GITLAB_PROJECT_ID: "9",
    });
    expect(selection).toMatchObject({
      privateKeyFile: "~/.ssh/deploy",
      certificateFile: "~/.ssh/deploy-cert.pub",
      redeployToken: "42",
      gitlab: { apiUrl: "https://gitlab.example.org/api/v4", projectId: "9" },
    });
  });
});

describe("main.ts", () => {
  it("stops with the list of bad variables, without a stack trace", () => {
    const env = { ...process.env, JAWS_STATE_BACKEND: "s3" };
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "main.ts")], { cwd: ROOT, env, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('jaws-deploy: bad environment:\n  JAWS_STATE_BACKEND="s3": must be one of local, gitlab, pg\n');
  });

  it("synthesizes every selected site and deployment from the environment", () => {
    const out = mkdtempSync(join(tmpdir(), "jaws-main-"));
    try {
      const env = { ...process.env, ...operatorEnv, JAWS_SITES: "all", JAWS_DEPLOYMENT: "staging", CDKTF_OUTDIR: out };
      const r = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "main.ts")], { cwd: ROOT, env, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readdirSync(join(out, "stacks")).sort()).toEqual([
        "jaws-cori",
        "jaws-defiant",
        "jaws-jgi",
        "jaws-kbase",
        "jaws-nmdc",
        "jaws-nmdc_tahoma",
        "jaws-perlmutter",
        "jaws-tahoma",
        "jtm-cori",
      ]);
      const json = readFileSync(join(out, "stacks", "jaws-nmdc_tahoma", "cdk.tf.json"), "utf8");
      expect(json).toContain("/tahoma/mscnmdc/jaws-install/nmdc_tahoma-staging/supervisor/jaws-staging");
      expect(json).toContain('"host": "twf2.emsl.pnl.gov"');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
