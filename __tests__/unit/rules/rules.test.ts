import { describe, expect, it } from "vitest";
import {
  assertValid,
  hostConflicts,
  INSTANCE_RULES,
  instanceWarnings,
  type Problem,
  SERVICE_RULES,
  ValidationError,
  validateInstance,
} from "../../../constructs/rules";
import { appModel, model } from "../../support/fixtures";

const ok = { command: ["sleep", "100"] };
/** A valid Slurm-launched instance with `props` changed. */
const slurm = (props: Parameters<typeof model>[0] = {}) => model({ launcher: "slurm", inetPort: 64101, ...props });

/**
 * Each row breaks one rule on purpose, and the problem must name the construct path and that field.
 * Some rows break more: a bad instance or program name, or base directory, also spoils the paths and
 * names made from it (socketFile, logfile, identifier...), which get their own problems.
 */
const cases: [string, ReturnType<typeof model>, string, string][] = [
  ["instance name with a space", model({ name: "ja ws" }), "app/jaws", "name"],
  ["instance name with ':'", model({ name: "ja:ws" }), "app/jaws", "name"],
  ["deployment with uppercase", model({ deployment: "Prod" }), "app/jaws", "deployment"],
  ["host with a space", model({ host: "cori 20" }), "app/jaws", "host"],
  ["port 0", model({ port: 0 }), "app/jaws", "port"],
  ["port 65536", model({ port: 65536 }), "app/jaws", "port"],
  ["user with '$('", model({ user: "$(id)" }), "app/jaws", "user"],
  ["no pinned host key", model({ hostKey: undefined }), "app/jaws", "hostKey"],
  ["host key with host name", model({ hostKey: "cori20 ssh-ed25519 AAAA" }), "app/jaws", "hostKey"],
  ["key material instead of a path", model({ privateKeyFile: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc" }), "app/jaws", "privateKeyFile"],
  ["key path with a space", model({ privateKeyFile: "/home/me/my key" }), "app/jaws", "privateKeyFile"],
  ["bastion without host key", model({ bastionHost: "jump.example.org" }), "app/jaws", "bastionHostKey"],
  [
    "bastion port out of range",
    model({ bastionHost: "jump.example.org", bastionHostKey: model().ssh.hostKey, bastionPort: 70000 }),
    "app/jaws",
    "bastionPort",
  ],
  ["relative base directory", model({ baseDirectory: "jaws/supervisor" }), "app/jaws", "baseDirectory"],
  ["base directory under /tmp", model({ baseDirectory: "/tmp/jaws-supervisord" }), "app/jaws", "baseDirectory"],
  ["base directory with a space", model({ baseDirectory: "/srv/my jaws" }), "app/jaws", "baseDirectory"],
  ["base directory with a quote", model({ baseDirectory: "/srv/ja'ws" }), "app/jaws", "baseDirectory"],
  ["base directory with '..'", model({ baseDirectory: "/srv/../etc" }), "app/jaws", "baseDirectory"],
  ["python command with ';'", model({ pythonCommand: "python3; rm -rf ~" }), "app/jaws", "pythonCommand"],
  ["preamble with a newline", model({ shellPreamble: ["module load python\nrm -rf ~"] }), "app/jaws", "shellPreamble[0]"],
  ["supervisor version not a version", model({ supervisorVersion: "latest" }), "app/jaws", "supervisorVersion"],
  ["pip index not a URL", model({ pipIndexUrl: "ftp://mirror" }), "app/jaws", "pipIndexUrl"],
  ["find-links relative", model({ pipFindLinks: ["wheels"] }), "app/jaws", "pipFindLinks[0]"],
  ["inet port out of range", model({ inetPort: 99999 }), "app/jaws", "inetPort"],
  ["socket path too long", model({ socketFile: `/srv/${"s".repeat(120)}.sock` }), "app/jaws", "socketFile"],
  ["bad logfile_maxbytes", model({ logfileMaxbytes: "50TB" as never }), "app/jaws", "logfileMaxbytes"],
  ["negative logfile_backups", model({ logfileBackups: -1 }), "app/jaws", "logfileBackups"],
  ["unknown loglevel", model({ loglevel: "warning" as never }), "app/jaws", "loglevel"],
  ["relative pidfile", model({ pidfile: "run/supervisord.pid" }), "app/jaws", "pidfile"],
  ["minfds 0", model({ minfds: 0 }), "app/jaws", "minfds"],
  ["minprocs not integer", model({ minprocs: 1.5 }), "app/jaws", "minprocs"],
  ["identifier with a space", model({ identifier: "supervisor jaws" }), "app/jaws", "identifier"],
  ["umask not octal", model({ umask: "089" }), "app/jaws", "umask"],
  ["relative childlogdir", model({ childlogdir: "log" }), "app/jaws", "childlogdir"],
  ["environment key with '-'", model({ environment: { "A-B": "x" } }), "app/jaws", "environment.A-B"],
  ["environment value with a quote", model({ environment: { A: 'say "hi"' } }), "app/jaws", "environment.A"],
  ["environment value with ' ;'", model({ environment: { A: "x ;y" } }), "app/jaws", "environment.A"],
  ["relative directory", model({ directory: "." }), "app/jaws", "directory"],
  ["group name with '/'", model({ groupName: "jaws/dev" }), "app/jaws", "groupName"],
  ["health timeout 0", model({ healthTimeoutSeconds: 0 }), "app/jaws", "healthTimeoutSeconds"],
  ["redeploy token with a space", model({ redeployToken: "a b" }), "app/jaws", "redeployToken"],
  ["cron schedule with a command", model({ ensureCronSchedule: "* * * * * rm -rf ~" }), "app/jaws", "ensureCronSchedule"],
  ["directory under /tmp", model({ directories: [{ path: "/tmp/scratch" }] }), "app/jaws", "directories[0].path"],
  [
    "directory inside the instance directory",
    model({ directories: [{ path: "/srv/jaws/jaws-dev/x" }] }),
    "app/jaws",
    "directories[0].path",
  ],
  ["directory declared twice", model({ directories: [{ path: "/srv/s" }, { path: "/srv//s/" }] }), "app/jaws", "directories[1].path"],
  ["directory mode not octal", model({ directories: [{ path: "/srv/s", mode: "rwx" }] }), "app/jaws", "directories[0].mode"],
  ["directory group with a space", model({ directories: [{ path: "/srv/s", group: "a b" }] }), "app/jaws", "directories[0].group"],
  [
    "default ACL entry with ';'",
    model({ directories: [{ path: "/srv/s", defaultAcl: ["g:x:rwx;rm"] }] }),
    "app/jaws",
    "directories[0].defaultAcl[0]",
  ],
  ["relative include glob", model({ includeFiles: ["conf.d/*.conf"] }), "app/jaws", "includeFiles[0]"],
  ["include glob inside the instance directory", model({ includeFiles: ["/srv/jaws/jaws-dev/*.conf"] }), "app/jaws", "includeFiles[0]"],
  ["preflight host with a space", model({ preflight: [{ host: "rabbit mq", port: 5672 }] }), "app/jaws", "preflight[0].host"],
  ["preflight port 0", model({ preflight: [{ host: "rmq.example.org", port: 0 }] }), "app/jaws", "preflight[0].port"],
  ["preflight timeout 0", model({ preflightTimeoutSeconds: 0 }), "app/jaws", "preflightTimeoutSeconds"],
  ["unknown deploy resource", model({ deployResource: "aws_instance" as never }), "app/jaws", "deployResource"],
  ["certificate path with a quote", model({ certificateFile: "/home/me/'cert" }), "app/jaws", "certificateFile"],
  ["bastion host with a space", model({ bastionHost: "jump host" }), "app/jaws", "bastionHost"],
  [
    "bastion user with '$('",
    model({ ...{ bastionHost: "jump.example.org", bastionHostKey: model().ssh.hostKey }, bastionUser: "$(id)" }),
    "app/jaws",
    "bastionUser",
  ],
  [
    "bastion host key with a comment",
    model({ ...{ bastionHost: "jump.example.org", bastionHostKey: model().ssh.hostKey }, bastionHostKey: "ssh-ed25519 AAAA me@host" }),
    "app/jaws",
    "bastionHostKey",
  ],
  [
    "bastion key file with a space",
    model({ ...{ bastionHost: "jump.example.org", bastionHostKey: model().ssh.hostKey }, bastionPrivateKeyFile: "/k/my key" }),
    "app/jaws",
    "bastionPrivateKeyFile",
  ],
  [
    "bastion certificate is key material",
    model({
      ...{ bastionHost: "jump.example.org", bastionHostKey: model().ssh.hostKey },
      bastionCertificateFile: "-----BEGIN OPENSSH PRIVATE KEY-----",
    }),
    "app/jaws",
    "bastionCertificateFile",
  ],
  ["inet host with a space", model({ inetPort: 64101, inetHost: "0.0.0.0 x" }), "app/jaws", "inetHost"],
  ["relative logfile", model({ logfile: "supervisord.log" }), "app/jaws", "logfile"],
  ["group priority not an integer", model({ groupPriority: 1.5 }), "app/jaws", "groupPriority"],
  ["lock timeout negative", model({ lockTimeoutSeconds: -1 }), "app/jaws", "lockTimeoutSeconds"],
  // Programs
  ["program named a:b", model({}, { "a:b": ok }), "app/jaws/a:b", "name"],
  ["program name with a space", model({}, { "a b": ok }), "app/jaws/a b", "name"],
  ["program name with '/'", model({}, { "a/b": ok }), "app/jaws/a/b", "name"],
  ["empty command", model({}, { p: { command: [] } }), "app/jaws/p", "command"],
  ["blank command string", model({}, { p: { command: "" } }), "app/jaws/p", "command"],
  ["unterminated quote", model({}, { p: { command: "echo 'oops" } }), "app/jaws/p", "command"],
  ["newline in an argument", model({}, { p: { command: ["echo", "a\n[program:evil]"] } }), "app/jaws/p", "command[1]"],
  ["NUL in an argument", model({}, { p: { command: ["echo", "a\u0000b"] } }), "app/jaws/p", "command[1]"],
  ["numprocs 0", model({}, { p: { ...ok, numprocs: 0 } }), "app/jaws/p", "numprocs"],
  ["numprocs 2 without %(process_num)", model({}, { p: { ...ok, numprocs: 2, processName: "p" } }), "app/jaws/p", "processName"],
  ["numprocs 2, one log file", model({}, { p: { ...ok, numprocs: 2, stdoutLogfile: "/srv/p.log" } }), "app/jaws/p", "stdoutLogfile"],
  ["negative numprocs_start", model({}, { p: { ...ok, numprocsStart: -1 } }), "app/jaws/p", "numprocsStart"],
  ["process name with ':'", model({}, { p: { ...ok, processName: "a:%(process_num)d" } }), "app/jaws/p", "processName"],
  ["priority not an integer", model({}, { p: { ...ok, priority: 1.5 } }), "app/jaws/p", "priority"],
  ["negative startsecs", model({}, { p: { ...ok, startsecs: -1 } }), "app/jaws/p", "startsecs"],
  ["negative startretries", model({}, { p: { ...ok, startretries: -3 } }), "app/jaws/p", "startretries"],
  ["autorestart 'always'", model({}, { p: { ...ok, autorestart: "always" as never } }), "app/jaws/p", "autorestart"],
  ["exit code 256", model({}, { p: { ...ok, exitcodes: [0, 256] } }), "app/jaws/p", "exitcodes"],
  ["no exit codes", model({}, { p: { ...ok, exitcodes: [] } }), "app/jaws/p", "exitcodes"],
  ["unknown signal", model({}, { p: { ...ok, stopsignal: "STOP" as never } }), "app/jaws/p", "stopsignal"],
  ["signal number 99", model({}, { p: { ...ok, stopsignal: 99 } }), "app/jaws/p", "stopsignal"],
  ["negative stopwaitsecs", model({}, { p: { ...ok, stopwaitsecs: -5 } }), "app/jaws/p", "stopwaitsecs"],
  ["stopasgroup without killasgroup", model({}, { p: { ...ok, killasgroup: false } }), "app/jaws/p", "stopasgroup"],
  ["AUTO log file", model({}, { p: { ...ok, stdoutLogfile: "AUTO" } }), "app/jaws/p", "stdoutLogfile"],
  ["relative log file", model({}, { p: { ...ok, stderrLogfile: "p.err" } }), "app/jaws/p", "stderrLogfile"],
  ["byte size 1.5MB", model({}, { p: { ...ok, stdoutLogfileMaxbytes: "1.5MB" as never } }), "app/jaws/p", "stdoutLogfileMaxbytes"],
  ["negative backups", model({}, { p: { ...ok, stderrLogfileBackups: -2 } }), "app/jaws/p", "stderrLogfileBackups"],
  [
    "stderr log with redirect",
    model({}, { p: { ...ok, redirectStderr: true, stderrLogfile: "/srv/e.log" } }),
    "app/jaws/p",
    "stderrLogfile",
  ],
  ["relative program directory", model({}, { p: { ...ok, directory: "work" } }), "app/jaws/p", "directory"],
  ["program umask 8", model({}, { p: { ...ok, umask: "8" } }), "app/jaws/p", "umask"],
  ["wrapper env key '1A'", model({}, { p: { ...ok, environment: { "1A": "x" } } }), "app/jaws/p", "environment.1A"],
  ["wrapper env key '_' (bash sets it)", model({}, { p: { ...ok, environment: { _: "x" } } }), "app/jaws/p", "environment._"],
  ["wrapper env newline", model({}, { p: { ...ok, environment: { A: "x\ny" } } }), "app/jaws/p", "environment.A"],
  ["direct env backslash", model({}, { p: { ...ok, useWrapper: false, environment: { A: "C:\\x" } } }), "app/jaws/p", "environment.A"],
  ["direct env quote", model({}, { p: { ...ok, useWrapper: false, environment: { A: "it's" } } }), "app/jaws/p", "environment.A"],
  [
    "health check tcp port 0 (more rows in health-check.test.ts)",
    model({}, { p: { ...ok, healthCheck: { tcp: 0 } } }),
    "app/jaws/p",
    "healthCheck.tcp",
  ],
  ["venv without wrapper", model({}, { p: { ...ok, useWrapper: false, venv: "/srv/venv" } }), "app/jaws/p", "venv"],
  ["login shell without the wrapper", model({}, { p: { ...ok, useWrapper: false, loginShell: true } }), "app/jaws/p", "loginShell"],
  [
    "wrapper preamble with a newline",
    model({}, { p: { ...ok, shellPreamble: ["module load x\nrm -rf ~"] } }),
    "app/jaws/p",
    "shellPreamble[0]",
  ],
  ["relative venv", model({}, { p: { ...ok, venv: "venv" } }), "app/jaws/p", "venv"],
  ["locale with a space", model({}, { p: { ...ok, locale: "en US" } }), "app/jaws/p", "locale"],
  ["program name of 250 characters", model({}, { ["p".repeat(250)]: ok }), `app/jaws/${"p".repeat(250)}`, "stdoutLogfile"],
  [
    "log file name over 255 bytes",
    model({}, { p: { ...ok, stdoutLogfile: `/srv/${"\u00e9".repeat(130)}.log` } }),
    "app/jaws/p",
    "stdoutLogfile",
  ],
  ["base directory //tmp/x (normalised, then under /tmp)", model({ baseDirectory: "//tmp/x" }), "app/jaws", "baseDirectory"],
  ["base directory /./tmp/x", model({ baseDirectory: "/./tmp/x" }), "app/jaws", "baseDirectory"],
  ["a cdktf token in an argument", model({}, { p: { command: ["echo", "${TfToken[TOKEN.1]}"] } }), "app/jaws/p", "command[1]"],
  ["a cdktf list token in an environment value", model({ environment: { A: "#{TfToken[TOKEN.2]}" } }), "app/jaws", "environment.A"],
  [
    "%(here)s text in a direct environment value",
    model({}, { p: { ...ok, useWrapper: false, environment: { A: "%(here)s" } } }),
    "app/jaws/p",
    "environment.A",
  ],
  ["program named like the group", model({}, { "jaws-dev": ok }), "app/jaws/jaws-dev", "name"],
  // Releases and config files (more in releases-and-config-files.test.ts)
  ["release version with '/'", appModel({ releases: { site: { package: "jaws-site", version: "2.5/4" } } }), "app/jaws/site", "version"],
  [
    "config file with a newline in an INI value",
    appModel({ configFiles: { conf: { path: "config/a.conf", template: "a = {{a}}\n", values: { a: "x\n[evil]" } } } }),
    "app/jaws/conf",
    "values.a",
  ],
  // The Slurm launcher (rules/launcher.ts)
  ["unknown launcher", model({ launcher: "systemd" as never }), "app/jaws", "launcher"],
  ["a Slurm prop on a daemon instance", model({ slurmQos: "workflow" }), "app/jaws", "slurmQos"],
  ["slurm without inetPort", model({ launcher: "slurm" }), "app/jaws", "inetPort"],
  ["slurm with inetHost", slurm({ inetHost: "0.0.0.0" }), "app/jaws", "inetHost"],
  ["slurm with nodaemon false", slurm({ nodaemon: false }), "app/jaws", "nodaemon"],
  ["slurm with ensureCron", slurm({ ensureCron: true }), "app/jaws", "ensureCron"],
  ["slurm job name with a space", slurm({ slurmJobName: "jaws dev" }), "app/jaws", "slurmJobName"],
  ["slurm qos with a newline", slurm({ slurmQos: "workflow\n#SBATCH --wrap=x" }), "app/jaws", "slurmQos"],
  ["slurm constraint with a space", slurm({ slurmConstraint: "cron gpu" }), "app/jaws", "slurmConstraint"],
  ["slurm account empty", slurm({ slurmAccount: "" }), "app/jaws", "slurmAccount"],
  ["slurm partition with a tab", slurm({ slurmPartition: "a\tb" }), "app/jaws", "slurmPartition"],
  ["slurm time limit not a time", slurm({ slurmTimeLimit: "90 days" }), "app/jaws", "slurmTimeLimit"],
  ["slurm time limit 0", slurm({ slurmTimeLimit: "0" }), "app/jaws", "slurmTimeLimit"],
  ["slurm buffer negative", slurm({ slurmMaintenanceBufferMinutes: -1 }), "app/jaws", "slurmMaintenanceBufferMinutes"],
  ["slurm cpus 0", slurm({ slurmCpusPerTask: 0 }), "app/jaws", "slurmCpusPerTask"],
  ["slurm starter unknown", slurm({ slurmStarter: "cron" as never }), "app/jaws", "slurmStarter"],
  ["slurm starter schedule with a command", slurm({ slurmStarterSchedule: "* * * * * rm -rf ~" }), "app/jaws", "slurmStarterSchedule"],
  [
    "slurm starter option with a space",
    slurm({ slurmStarter: "scrontab", slurmStarterOptions: ["--qos=cron --x"] }),
    "app/jaws",
    "slurmStarterOptions[0]",
  ],
  ["slurm starter options with crontab", slurm({ slurmStarterOptions: ["--qos=cron"] }), "app/jaws", "slurmStarterOptions"],
  ["slurm address hook with a newline", slurm({ slurmAddressHook: ["nsupdate\nrm -rf ~"] }), "app/jaws", "slurmAddressHook[0]"],
  [
    "a health probe with launcher slurm",
    model({ launcher: "slurm", inetPort: 64101 }, { p: { ...ok, healthCheck: { tcp: 8080 } } }),
    "app/jaws/p",
    "healthCheck",
  ],
];

describe("validation: every rule rejects its bad input with path and field", () => {
  it.each(cases)("%s", (_label, m, path, field) => {
    const problems = validateInstance(m);
    expect(problems).toContainEqual(expect.objectContaining({ path, field }));
    for (const p of problems) expect(p.message.length).toBeGreaterThan(10);
  });

  it("each rule is a pure function of the model: the defaults pass it, and a row of the table fails it alone", () => {
    const base = model({}, { p: ok });
    const failsAlone = (rule: (m: ReturnType<typeof model>) => Problem[]) =>
      cases.some(([, m, path, field]) => rule(m).some((p) => p.path === path && p.field === field));
    for (const rule of INSTANCE_RULES) {
      expect(rule(base), rule.name).toEqual([]);
      expect(failsAlone(rule), `${rule.name} has no failing row`).toBe(true);
    }
    for (const rule of SERVICE_RULES) {
      expect(rule(base.services[0], base), rule.name).toEqual([]);
      expect(
        failsAlone((m) => m.services.flatMap((s) => rule(s, m))),
        `${rule.name} has no failing row`,
      ).toBe(true);
    }
  });

  it("accepts the defaults", () => {
    expect(validateInstance(model({}, { p: ok, q: { command: "python3 -m jaws_site.cli daemon", oneShot: true } }))).toEqual([]);
  });

  it("reports several problems at once, each on its own line", () => {
    const m = model({ port: 0, loglevel: "loud" as never }, { "a:b": { command: [], exitcodes: [300] } });
    const err = (() => {
      try {
        assertValid(m);
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error("no error");
    })();
    expect(err).toBeInstanceOf(ValidationError);
    const fields = err.problems.map((p: Problem) => `${p.path} ${p.field}`);
    expect(fields).toEqual(
      expect.arrayContaining(["app/jaws port", "app/jaws loglevel", "app/jaws/a:b name", "app/jaws/a:b command", "app/jaws/a:b exitcodes"]),
    );
    expect(err.message.split("\n").length).toBe(err.problems.length + 1);
  });

  it("never echoes key material in an error", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----";
    const problems = validateInstance(model({ privateKeyFile: key }));
    const text = JSON.stringify(problems);
    expect(problems.map((p) => p.field)).toContain("privateKeyFile");
    expect(text).not.toContain("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ");
  });

  it("rejects two instances sharing a socket, pidfile or directory on one host", () => {
    const a = model({ socketFile: "/srv/shared.sock" }, {}, "app/a");
    const b = model({ name: "jtm", socketFile: "/srv/shared.sock", pidfile: a.supervisord.pidfile }, {}, "app/b");
    const problems = hostConflicts([a, b]);
    expect(problems.map((p) => `${p.path} ${p.field}`)).toEqual(["app/b pidfile", "app/b socketFile"]);
    expect(hostConflicts([a, model({ name: "jtm" }, {}, "app/c")])).toEqual([]);
  });

  it("compares paths as the file system does: /srv//a, /srv/./a/ and /srv/a are one directory", () => {
    const a = model({ baseDirectory: "/srv/a" }, {}, "app/a");
    const b = model({ baseDirectory: "/srv//a/" }, {}, "app/b");
    const c = model({ baseDirectory: "/srv/./a" }, {}, "app/c");
    expect(b.dir).toBe(a.dir);
    expect(hostConflicts([a, b, c]).map((p) => `${p.path} ${p.field}`)).toEqual([
      "app/b baseDirectory",
      "app/b pidfile",
      "app/b socketFile",
      "app/c baseDirectory",
      "app/c pidfile",
      "app/c socketFile",
    ]);
  });

  it("rejects two instances on one inet port of one host, not on two hosts", () => {
    const a = model({ inetPort: 64101 }, {}, "app/a");
    expect(hostConflicts([a, model({ name: "jtm", inetPort: 64101 }, {}, "app/b")])).toContainEqual(
      expect.objectContaining({ path: "app/b", field: "inetPort" }),
    );
    expect(hostConflicts([a, model({ name: "jtm", inetPort: 64101, host: "other.host" }, {}, "app/b")])).toEqual([]);
  });

  it("rejects two Slurm-launched instances on one port of the cluster's nodes; a daemon's port on the login host is another", () => {
    const a = slurm({ inetPort: 64101 });
    const b = model({ name: "jtm", launcher: "slurm", inetPort: 64101 }, {}, "app/b");
    expect(hostConflicts([a, b])).toEqual([
      {
        path: "app/b",
        field: "inetPort",
        message: "64101 on the Slurm nodes behind cori20.nersc.gov (two jobs may share a node) is already used by app/jaws",
      },
    ]);
    expect(hostConflicts([a, model({ name: "jtm", inetPort: 64101 }, {}, "app/b")])).toEqual([]);
  });

  it("accepts a Slurm-launched instance with every option (and without one)", () => {
    expect(validateInstance(slurm())).toEqual([]);
    const all = slurm({
      slurmJobName: "jaws_perlmutter_prod",
      slurmQos: "workflow",
      slurmConstraint: "cron&[rack1|rack2]",
      slurmAccount: "m342",
      slurmPartition: "regular",
      slurmTimeLimit: "UNLIMITED",
      slurmMaintenanceBufferMinutes: 0,
      slurmCpusPerTask: 16,
      slurmStarter: "scrontab",
      slurmStarterSchedule: "*/10 * * * *",
      slurmStarterOptions: ["--qos=cron", "-t", "--time=00:10:00"],
      slurmAddressHook: ['nsupdate -k "$HOME/key" <<<"update add x 60 A $JAWS_SUPERVISOR_ADDRESS"'],
    });
    expect(validateInstance(all)).toEqual([]);
  });

  it("rejects a duplicate program name within an instance", () => {
    const m = model({}, { p: ok });
    const dup = { ...m, services: [...m.services, { ...m.services[0], path: "app/jaws/p2" }] };
    expect(validateInstance(dup)).toContainEqual(expect.objectContaining({ path: "app/jaws/p2", field: "name" }));
  });

  it("warns for an exposed HTTP server and an unchecked host key", () => {
    expect(instanceWarnings(model({ inetPort: 64101, inetHost: "0.0.0.0" })).map((w) => w.field)).toEqual(["inetHost"]);
    expect(instanceWarnings(model({ inetPort: 64101 }))).toEqual([]);
    expect(instanceWarnings(model({ hostKey: undefined, insecureSkipHostKeyCheck: true })).map((w) => w.field)).toEqual([
      "insecureSkipHostKeyCheck",
    ]);
    expect(validateInstance(model({ hostKey: undefined, insecureSkipHostKeyCheck: true }))).toEqual([]);
  });
});
