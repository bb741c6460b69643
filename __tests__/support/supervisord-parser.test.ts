import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ParsedConfig,
  type ParseOutcome,
  parseSupervisordConfig,
  parseSupervisordConfigs,
  requireSupervisordParser,
  SupervisordConfigError,
} from "./supervisord-parser";

// Every path the parser checks lives under %(here)s, i.e. the temp dir the config is written to.
const HEADER = `[supervisord]
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
`;

const SERVER = `[unix_http_server]
file=%(here)s/supervisor.sock
chmod=0700
username=jaws
password=s3cret-Pw

[supervisorctl]
serverurl=unix://%(here)s/supervisor.sock
username=jaws
password=s3cret-Pw
`;

/** full config with one [program:p] made of `lines` */
const withProgram = (lines: string, extra = "") => `${HEADER}\n[program:p]\n${lines}\n${extra}\n`;

const parse = (text: string) => parseSupervisordConfig(text);
const program = (text: string) => {
  const cfg = parse(text);
  expect(cfg.programs).toHaveLength(1);
  return cfg.programs[0];
};
const rejects = (text: string, message: RegExp) => expect(() => parse(text)).toThrow(message);

describe("real supervisord 4.2.5 parser", () => {
  beforeAll(requireSupervisordParser);

  it("parses a minimal valid config into programs, groups, servers and ctl", () => {
    const cfg = parse(`${HEADER}\n${SERVER}\n[program:web]\ncommand=/bin/sleep 100\nautorestart=true\nstopsignal=INT\n`);
    expect(cfg.version).toBe("4.2.5");
    expect(cfg.rpcinterfaces).toEqual(["supervisor"]);
    expect(cfg.groups).toEqual([{ name: "web", kind: "program", priority: 999, programs: ["web"] }]);
    expect(cfg.programs).toHaveLength(1);
    expect(cfg.programs[0]).toMatchObject({
      name: "web",
      group: "web",
      command: "/bin/sleep 100",
      process_name: "web",
      numprocs: 1,
      autostart: true,
      autorestart: "true",
      stopsignal: "SIGINT",
      exitcodes: [0],
      stdout_logfile: "AUTO",
      stdout_logfile_maxbytes: 50 * 1024 * 1024,
      stdout_logfile_backups: 10,
      environment: {},
      directory: null,
      user: null,
    });
    expect(cfg.supervisord.loglevel).toBe("info");
    expect(cfg.supervisord.umask).toBe("0022");
    expect(cfg.supervisord.logfile).toMatch(/\/supervisord\.log$/);
    expect(cfg.server.unix).toMatchObject({
      chmod: "0700",
      username: "jaws",
      password_set: true,
      chown: null,
    });
    expect(cfg.server.unix?.file).toMatch(/^\/.*\/supervisor\.sock$/);
    expect(cfg.server.inet).toBeNull();
    expect(cfg.ctl).toMatchObject({ username: "jaws", password_set: true });
    expect(cfg.ctl?.serverurl).toBe(`unix://${cfg.server.unix?.file}`);
    expect(cfg.warnings).toEqual([]);
    expect(JSON.stringify(cfg)).not.toContain("s3cret-Pw");
  });

  it("can fail: a config without [supervisord] is rejected", () => {
    rejects("[program:web]\ncommand=/bin/true\n", /does not include supervisord section/);
    expect(() => parse("[program:web]\ncommand=/bin/true\n")).toThrow(SupervisordConfigError);
  });

  it("never prints a password, even in an error", () => {
    let message = "";
    try {
      parse(`${HEADER}\n[supervisorctl]\npassword=Hunter2-100%\n`);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/supervisorctl\.password.*badly formatted/);
    expect(message).not.toContain("Hunter2");
  });

  it("reports a missing [supervisorctl] as ctl: null plus a warning", () => {
    const cfg = parse(withProgram("command=/bin/true"));
    expect(cfg.ctl).toBeNull();
    expect(cfg.warnings).toContain("supervisorctl: .ini file does not include supervisorctl section");
  });

  describe("% expansion", () => {
    it("rejects an unescaped %, and %% yields a literal %", () => {
      rejects(withProgram("command=echo 100%"), /badly formatted: incomplete format/);
      expect(program(withProgram("command=echo 100%%")).command).toBe("echo 100%");
    });

    it("expands %(here)s, %(program_name)s, %(group_name)s, %(ENV_x)s and program environment", () => {
      const p = program(
        withProgram('command=%(here)s/run %(program_name)s %(group_name)s %(ENV_A)s %(ENV_B)s\nenvironment=B="b"').replace(
          "childlogdir=%(here)s",
          "childlogdir=%(here)s\nenvironment=A=a",
        ),
      );
      expect(p.command).toMatch(/^\/.+\/run p p a b$/);
      expect(p.environment).toEqual({ A: "a", B: "b" });
      rejects(withProgram("command=%(ENV_JAWS_SURELY_UNDEFINED)s"), /cannot be expanded/);
    });

    it("a bare %s expands to the WHOLE expansion dict (leaks supervisord's environment)", () => {
      const p = program(withProgram("command=echo %s"));
      expect(p.command).toMatch(/^echo \{.*'ENV_PATH': /);
    });

    it("[supervisord] environment and program stdout_logfile are expanded TWICE", () => {
      rejects(`${HEADER.replace("childlogdir=%(here)s", 'environment=A="1%%"')}`, /badly formatted/);
      const cfg = parse(HEADER.replace("childlogdir=%(here)s", 'environment=A="1%%%%"'));
      expect(cfg.supervisord.environment).toEqual({ A: "1%" });
      rejects(withProgram("command=x\nstdout_logfile=%(here)s/a%%.log"), /badly formatted/);
      expect(program(withProgram("command=x\nstdout_logfile=%(here)s/a%%%%.log")).stdout_logfile).toMatch(/\/a%\.log$/);
      // program environment: once
      expect(program(withProgram('command=x\nenvironment=B="1%%"')).environment).toEqual({ B: "1%" });
    });
  });

  describe("ini hazards", () => {
    it("cuts a value at ' ;' even inside quotes (inline comment), but keeps 'a;b'", () => {
      expect(program(withProgram("command=bash -c 'a ; b'")).command).toBe("bash -c 'a");
      expect(program(withProgram("command=bash -c 'a # b'")).command).toBe("bash -c 'a");
      expect(program(withProgram("command=bash -c 'a;b'")).command).toBe("bash -c 'a;b'");
    });

    it("a newline in a value can inject a [program:evil] section", () => {
      const injected = "/bin/true\n[program:evil]\ncommand=/bin/rm -rf /";
      const cfg = parse(withProgram(`command=${injected}`));
      expect(cfg.programs.map((p) => p.name)).toEqual(["evil", "p"]);
      expect(cfg.programs.find((p) => p.name === "evil")?.command).toBe("/bin/rm -rf /");
    });

    it("an indented next line is a continuation: the value gets a newline", () => {
      expect(program(withProgram("command=/bin/echo a\n  b")).command).toBe("/bin/echo a\nb");
    });

    it("later duplicate section/key wins; keys are case-insensitive; [Program:x] is ignored", () => {
      const cfg = parse(withProgram("command=one\nCommand=two", "[program:p]\nautostart=false\n[Program:q]\ncommand=x"));
      expect(cfg.programs.map((p) => [p.name, p.command, p.autostart])).toEqual([["p", "two", false]]);
    });
  });

  describe("program checks", () => {
    it("numprocs=2 needs %(process_num) in process_name", () => {
      rejects(withProgram("command=x\nnumprocs=2"), /%\(process_num\) must be present within process_name/);
      const cfg = parse(withProgram("command=x\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)02d"));
      expect(cfg.programs.map((p) => [p.process_name, p.group, p.numprocs])).toEqual([
        ["p_00", "p", 2],
        ["p_01", "p", 2],
      ]);
      expect(cfg.groups).toEqual([
        {
          name: "p",
          kind: "program",
          priority: 999,
          programs: ["p_00", "p_01"],
        },
      ]);
    });

    it("numprocs=0 is accepted and yields a group with no process", () => {
      const cfg = parse(withProgram("command=x\nnumprocs=0"));
      expect(cfg.programs).toEqual([]);
      expect(cfg.groups).toEqual([{ name: "p", kind: "program", priority: 999, programs: [] }]);
    });

    it("rejects stopasgroup=true with killasgroup=false; stopasgroup implies killasgroup", () => {
      rejects(withProgram("command=x\nstopasgroup=true\nkillasgroup=false"), /Cannot set stopasgroup=true and killasgroup=false/);
      expect(program(withProgram("command=x\nstopasgroup=true"))).toMatchObject({ stopasgroup: true, killasgroup: true });
    });

    it("requires command= but accepts it empty", () => {
      rejects(withProgram("autostart=true"), /does not specify a command/);
      expect(program(withProgram("command=")).command).toBe("");
    });

    it("rejects exitcodes=256 and unknown signals; accepts exitcodes= empty", () => {
      rejects(withProgram("command=x\nexitcodes=256"), /not a valid list of exit codes/);
      rejects(withProgram("command=x\nexitcodes=0,,2"), /not a valid list of exit codes/);
      rejects(withProgram("command=x\nstopsignal=FOO"), /not a valid signal name/);
      rejects(withProgram("command=x\nstopsignal=32"), /not a valid signal number/);
      expect(program(withProgram("command=x\nexitcodes=")).exitcodes).toEqual([]);
    });

    it("rejects unknown users", () => {
      rejects(withProgram("command=x\nuser=jaws-no-such-user"), /Invalid user name/);
      expect(program(withProgram("command=x\nuser=0"))).toMatchObject({
        user: "root",
        uid: 0,
      });
    });
  });

  describe("environment= (legacy non-POSIX shlex)", () => {
    const env = (value: string) => program(withProgram(`command=x\nenvironment=${value}`)).environment;

    it('A="x y",B="1%%" yields {A: "x y", B: "1%"}', () => {
      expect(env('A="x y",B="1%%"')).toEqual({ A: "x y", B: "1%" });
    });

    it("mangles quotes: strips quote chars at both ends, no escapes, unquoted space swallows", () => {
      rejects(withProgram('command=x\nenvironment=A="say \\"hi\\""'), /Unexpected end of key\/value pairs/);
      expect(env(`A="'x'"`)).toEqual({ A: "x" });
      expect(env(`A="it's"`)).toEqual({ A: "it's" });
      expect(env('A="a\\b"')).toEqual({ A: "a\\b" });
      expect(env('A="x"y"')).toEqual({ A: "x" });
      expect(env("A=x y")).toEqual({ A: "x" });
      expect(env("A=x y z=1")).toEqual({ A: "x", z: "1" });
      expect(env("A=1;B=2")).toEqual({ A: "1", B: "2" });
      expect(env("A=x#y")).toEqual({ A: "x" });
      expect(env('A="x#y"')).toEqual({ A: "x#y" });
      rejects(withProgram('command=x\nenvironment=A="x ;y"'), /No closing quotation/);
      rejects(withProgram("command=x\nenvironment=A="), /Unexpected end of key\/value pairs/);
    });

    it("accepts odd keys (1A, A.B, A-B, A:B, A/B) but not A@B or A$B", () => {
      expect(env("1A=1,A.B=2,A-B=3,A:B=4,A/B=5")).toEqual({
        "1A": "1",
        "A.B": "2",
        "A-B": "3",
        "A:B": "4",
        "A/B": "5",
      });
      rejects(withProgram("command=x\nenvironment=A@B=1"), /Unexpected end of key\/value pairs/);
      rejects(withProgram("command=x\nenvironment=A$B=1"), /Unexpected end of key\/value pairs/);
    });
  });

  describe("groups", () => {
    it("a [group:x] makes its programs members; other programs are their own group", () => {
      const cfg = parse(
        `${HEADER}\n[group:g]\nprograms=a,b\npriority=5\n[program:a]\ncommand=x\n[program:b]\ncommand=y\n[program:c]\ncommand=z\n`,
      );
      expect(cfg.groups).toEqual([
        { name: "g", kind: "program", priority: 5, programs: ["a", "b"] },
        { name: "c", kind: "program", priority: 999, programs: ["c"] },
      ]);
      expect(cfg.programs.map((p) => [p.name, p.group])).toEqual([
        ["a", "g"],
        ["b", "g"],
        ["c", "c"],
      ]);
    });

    it("rejects a group naming a missing program (message names the wrong section in 4.2.5)", () => {
      rejects(`${HEADER}\n[group:g]\nprograms=a,zz\n[program:a]\ncommand=x\n`, /\[program:a\] names unknown program or fcgi-program zz/);
      rejects(`${HEADER}\n[group:g]\nprograms=zz\n`, /\[group:g\] names unknown program or fcgi-program zz/);
    });

    it("a program may sit in two groups; a group may share a program's name (runtime keeps one)", () => {
      const two = parse(`${HEADER}\n[group:g]\nprograms=a\n[group:h]\nprograms=a\n[program:a]\ncommand=x\n`);
      expect(two.programs.map((p) => p.group)).toEqual(["g", "h"]);
      const clash = parse(`${HEADER}\n[group:a]\nprograms=b\n[program:a]\ncommand=x\n[program:b]\ncommand=y\n`);
      expect(clash.groups.map((g) => g.name)).toEqual(["a", "a"]);
    });
  });

  describe("directories", () => {
    const missing = join(tmpdir(), "jaws-definitely-missing-dir", "sub");

    it("checks [supervisord] logfile/pidfile parents, childlogdir, directory and program log parents", () => {
      rejects(HEADER.replace("%(here)s/supervisord.log", `${missing}/s.log`), /does not exist/);
      rejects(HEADER.replace("%(here)s/supervisord.pid", `${missing}/s.pid`), /does not exist/);
      rejects(HEADER.replace("childlogdir=%(here)s", `childlogdir=${missing}`), /is not an existing directory/);
      rejects(HEADER.replace("childlogdir=%(here)s", `childlogdir=%(here)s\ndirectory=${missing}`), /is not an existing directory/);
      rejects(withProgram(`command=x\nstdout_logfile=${missing}/out.log`), /does not exist/);
    });

    it("does NOT check program directory= nor the unix socket's directory", () => {
      expect(program(withProgram(`command=x\ndirectory=${missing}`)).directory).toBe(missing);
      const cfg = parse(`${HEADER}\n[unix_http_server]\nfile=${missing}/s.sock\n`);
      expect(cfg.server.unix?.file).toBe(`${missing}/s.sock`);
    });

    it("resolves %(here)s to the directory of a given file", () => {
      const dir = mkdtempSync(join(tmpdir(), "jaws-here-"));
      try {
        const cfg = parseSupervisordConfig(withProgram("command=%(here)s/run"), { file: join(dir, "x.conf") });
        expect(cfg.programs[0].command).toBe(`${dir}/run`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("value syntax (one python process for the whole table)", () => {
    const cases: Array<[string, string, unknown]> = [
      // [program lines, field, expected value or Error regexp]
      ["stopsignal=TERM", "stopsignal", "SIGTERM"],
      ["stopsignal=term", "stopsignal", "SIGTERM"],
      ["stopsignal=SIGTERM", "stopsignal", "SIGTERM"],
      ["stopsignal=sigkill", "stopsignal", "SIGKILL"],
      ["stopsignal=15", "stopsignal", "SIGTERM"],
      ["stopsignal=CHLD", "stopsignal", "SIGCHLD"],
      ["stopsignal=RTMIN", "stopsignal", "SIGRTMIN"],
      ["stopsignal=0", "stopsignal", "signal 0"],
      ["stopsignal=35", "stopsignal", /not a valid signal number/],
      ["stopsignal=-1", "stopsignal", /not a valid signal number/],
      ["stopsignal=", "stopsignal", /not a valid signal name/],
      ["stdout_logfile_maxbytes=1KB", "stdout_logfile_maxbytes", 1024],
      ["stdout_logfile_maxbytes=1kb", "stdout_logfile_maxbytes", 1024],
      ["stdout_logfile_maxbytes=1 MB", "stdout_logfile_maxbytes", 1048576],
      ["stdout_logfile_maxbytes=2GB", "stdout_logfile_maxbytes", 2147483648],
      ["stdout_logfile_maxbytes=-1MB", "stdout_logfile_maxbytes", -1048576],
      ["stdout_logfile_maxbytes=1_000", "stdout_logfile_maxbytes", 1000],
      ["stdout_logfile_maxbytes=1K", "stdout_logfile_maxbytes", /invalid literal for int/],
      ["stdout_logfile_maxbytes=1.5MB", "stdout_logfile_maxbytes", /invalid literal for int/],
      ["stdout_logfile_maxbytes=1TB", "stdout_logfile_maxbytes", /invalid literal for int/],
      ["autorestart=unexpected", "autorestart", "unexpected"],
      ["autorestart=Unexpected", "autorestart", "unexpected"],
      ["autorestart=yes", "autorestart", "true"],
      ["autorestart=0", "autorestart", "false"],
      ["autorestart=always", "autorestart", /invalid 'autorestart' value/],
      ["autostart=On", "autostart", true],
      ["autostart=y", "autostart", /not a valid boolean value/],
      ["priority=-5", "priority", -5],
      ["priority=1.0", "priority", /invalid literal for int/],
      ["exitcodes=0, 2", "exitcodes", [0, 2]],
      ["exitcodes=-1", "exitcodes", /not a valid list of exit codes/],
      ["umask=0o22", "umask", "0022"],
      ["umask=8", "umask", /can not be converted to an octal type/],
      ["process_name=a.b-c@d", "process_name", "a.b-c@d"],
      ["process_name=ä中", "process_name", "ä中"],
      ["process_name=a b", "process_name", /Invalid name: 'a b' because of character: ' '/],
      ["process_name=a:b", "process_name", /because of character: ':'/],
      ["process_name=a/b", "process_name", /because of character: '\/'/],
      ["process_name=a\tb", "process_name", "a\tb"],
    ];
    let outcomes: ParseOutcome[] = [];
    const prepare = () => {
      if (outcomes.length === 0) outcomes = parseSupervisordConfigs(cases.map(([lines]) => withProgram(`command=x\n${lines}`)));
      return outcomes;
    };
    it.each(cases.map((c, i) => [i, ...c] as const))("#%i %s -> %s", (i, _lines, field, expected) => {
      const out = prepare()[i];
      if (expected instanceof RegExp) {
        expect(out.ok).toBe(false);
        if (!out.ok) expect(out.error).toMatch(expected);
      } else {
        expect(out.ok, out.ok ? "" : out.error).toBe(true);
        const p = (out as ParsedConfig).programs[0] as unknown as Record<string, unknown>;
        expect(p[field]).toEqual(expected);
      }
    });
  });

  describe("section names", () => {
    it("accepts . - @ unicode tab and even an empty name; rejects space, :, /", () => {
      const outs = parseSupervisordConfigs(
        ["a.b", "a-b", "a@b", "ä中", "a\tb", "", "a b", "a:b", "a/b"].map((n) => `${HEADER}\n[program:${n}]\ncommand=x\n`),
      );
      expect(outs.map((o) => (o.ok ? o.programs[0].name : "ERR"))).toEqual(["a.b", "a-b", "a@b", "ä中", "a\tb", "", "ERR", "ERR", "ERR"]);
    });
  });

  describe("http servers and rpcinterface", () => {
    it("inet: bare port and *:port mean all interfaces; port range 1-65535", () => {
      const outs = parseSupervisordConfigs(
        ["9001", "*:9001", "127.0.0.1:9001", "127.0.0.1:0", "127.0.0.1:65536"].map((p) => `${HEADER}\n[inet_http_server]\nport=${p}\n`),
      );
      expect(outs.map((o) => (o.ok ? [o.server.inet?.host, o.server.inet?.port] : "ERR"))).toEqual([
        ["", 9001],
        ["", 9001],
        ["127.0.0.1", 9001],
        "ERR",
        "ERR",
      ]);
    });

    it("server sections match by prefix: [inet_http_serverX] is a server", () => {
      const cfg = parse(`${HEADER}\n[inet_http_serverX]\nport=127.0.0.1:9001\n`);
      expect(cfg.server.inet?.section).toBe("inet_http_serverX");
    });

    it("requires username and password together, and a resolvable rpcinterface factory", () => {
      rejects(`${HEADER}\n[unix_http_server]\nfile=/x.sock\nusername=u\n`, /incomplete authentication/);
      rejects(
        HEADER.replace("supervisor.rpcinterface:make_main_rpcinterface", "supervisor.rpcinterface:nope"),
        /cannot be resolved within \[rpcinterface:supervisor\]/,
      );
      const none = parse(HEADER.replace(/\[rpcinterface:supervisor\][^\n]*\n[^\n]*\n/, ""));
      expect(none.rpcinterfaces).toEqual([]);
    });
  });

  describe("batch parsing", () => {
    it("returns one outcome per input, in order, in one python process", () => {
      const outs = parseSupervisordConfigs([withProgram("command=a"), "[program:x]\ncommand=y\n", withProgram("command=%(here)s/b")]);
      expect(outs.map((o) => o.ok)).toEqual([true, false, true]);
      expect((outs[2] as ParsedConfig).programs[0].command).toMatch(/\/2\/b$/);
    });
  });
});
