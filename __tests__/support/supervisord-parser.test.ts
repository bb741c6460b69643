// How Debian's supervisord 4.2.5 parses configs (its behaviour, not this project's): the facts the
// templates and validation rely on. Run as the `supervisord` vitest project, apart from product tests.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

// The configs of the whole file are parsed in ONE python process (beforeAll), tests read their outcomes.
const batch: string[] = [];
let outcomes: ParseOutcome[] = [];
/** Queues `texts` for the batch; the getter (for use inside a test) returns the outcome of texts[i]. */
function queue(texts: string[]): (i: number) => ParseOutcome {
  const first = batch.push(...texts) - texts.length;
  return (i) => outcomes[first + i];
}
/** A test of the outcomes of `texts`, in order. */
function test(name: string, texts: string[], body: (...outs: ParseOutcome[]) => void): void {
  const at = queue(texts);
  it(name, () => body(...texts.map((_, i) => at(i))));
}

const parsed = (o: ParseOutcome): ParsedConfig => {
  if (!o.ok) throw new Error(`rejected: ${o.error}`);
  return o;
};
const program = (o: ParseOutcome) => {
  const cfg = parsed(o);
  expect(cfg.programs).toHaveLength(1);
  return cfg.programs[0];
};
/** supervisor's message for a rejected config */
const error = (o: ParseOutcome): string => {
  if (o.ok) throw new Error("accepted, expected a rejection");
  return o.error;
};
/** the one program's `field` equals `expected`, or supervisor rejects the config with `expected` (RegExp) */
function expectField(o: ParseOutcome, field: string, expected: unknown, label?: string): void {
  if (expected instanceof RegExp) expect(error(o), label).toMatch(expected);
  else expect((program(o) as Record<string, unknown>)[field], label).toEqual(expected);
}

describe("real supervisord 4.2.5 parser", () => {
  beforeAll(() => {
    requireSupervisordParser();
    outcomes = parseSupervisordConfigs(batch);
  });

  test(
    "parses a minimal valid config into programs, groups, servers and ctl",
    [`${HEADER}\n${SERVER}\n[program:web]\ncommand=/bin/sleep 100\nautorestart=true\nstopsignal=INT\n`],
    (o) => {
      const cfg = parsed(o);
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
    },
  );

  it("can fail: a config without [supervisord] is rejected, with a typed error", () => {
    let thrown: unknown;
    try {
      parseSupervisordConfig("[program:web]\ncommand=/bin/true\n");
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SupervisordConfigError);
    expect((thrown as Error).message).toMatch(/does not include supervisord section/);
  });

  test("never prints a password, even in an error", [`${HEADER}\n[supervisorctl]\npassword=Hunter2-100%\n`], (o) => {
    const message = error(o);
    expect(message).toMatch(/supervisorctl\.password.*badly formatted/);
    expect(message).not.toContain("Hunter2");
  });

  it("never prints a password from an included file either (the rendered configs include their credentials)", () => {
    const dir = mkdtempSync(join(tmpdir(), "jaws-include-"));
    try {
      writeFileSync(join(dir, "auth.conf"), "[unix_http_server]\nusername=u\npassword=Zebra-100%\n");
      const text = `${HEADER}\n[unix_http_server]\nfile=%(here)s/s.sock\n[include]\nfiles=auth.conf\n`;
      expect(() => parseSupervisordConfig(text, { file: join(dir, "x.conf") })).toThrow(/^(?!.*Zebra).*unix_http_server\.password.*badly/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("reports a missing [supervisorctl] as ctl: null plus a warning", [withProgram("command=/bin/true")], (o) => {
    const cfg = parsed(o);
    expect(cfg.ctl).toBeNull();
    expect(cfg.warnings).toContain("supervisorctl: .ini file does not include supervisorctl section");
  });

  describe("% expansion", () => {
    test(
      "rejects an unescaped %, and %% yields a literal %",
      [withProgram("command=echo 100%"), withProgram("command=echo 100%%")],
      (bad, good) => {
        expect(error(bad)).toMatch(/badly formatted: incomplete format/);
        expect(program(good).command).toBe("echo 100%");
      },
    );

    test(
      "expands %(here)s, %(program_name)s, %(group_name)s, %(ENV_x)s and program environment",
      [
        withProgram('command=%(here)s/run %(program_name)s %(group_name)s %(ENV_A)s %(ENV_B)s\nenvironment=B="b"').replace(
          "childlogdir=%(here)s",
          "childlogdir=%(here)s\nenvironment=A=a",
        ),
        withProgram("command=%(ENV_JAWS_SURELY_UNDEFINED)s"),
      ],
      (o, undefinedEnv) => {
        const p = program(o);
        expect(p.command).toMatch(/^\/.+\/run p p a b$/);
        expect(p.environment).toEqual({ A: "a", B: "b" });
        expect(error(undefinedEnv)).toMatch(/cannot be expanded/);
      },
    );

    test("a bare %s expands to the WHOLE expansion dict (leaks supervisord's environment)", [withProgram("command=echo %s")], (o) => {
      expect(program(o).command).toMatch(/^echo \{.*'ENV_PATH': /);
    });

    test(
      "[supervisord] environment and program stdout_logfile are expanded TWICE",
      [
        HEADER.replace("childlogdir=%(here)s", 'environment=A="1%%"'),
        HEADER.replace("childlogdir=%(here)s", 'environment=A="1%%%%"'),
        withProgram("command=x\nstdout_logfile=%(here)s/a%%.log"),
        withProgram("command=x\nstdout_logfile=%(here)s/a%%%%.log"),
        withProgram('command=x\nenvironment=B="1%%"'),
      ],
      (envTwice, envFour, logTwice, logFour, programEnv) => {
        expect(error(envTwice)).toMatch(/badly formatted/);
        expect(parsed(envFour).supervisord.environment).toEqual({ A: "1%" });
        expect(error(logTwice)).toMatch(/badly formatted/);
        expect(program(logFour).stdout_logfile).toMatch(/\/a%\.log$/);
        // program environment: once
        expect(program(programEnv).environment).toEqual({ B: "1%" });
      },
    );
  });

  describe("ini hazards", () => {
    test(
      "cuts a value at ' ;' even inside quotes (inline comment), but keeps 'a;b'",
      ["command=bash -c 'a ; b'", "command=bash -c 'a # b'", "command=bash -c 'a;b'"].map((l) => withProgram(l)),
      (semi, hash, tight) => {
        expect(program(semi).command).toBe("bash -c 'a");
        expect(program(hash).command).toBe("bash -c 'a");
        expect(program(tight).command).toBe("bash -c 'a;b'");
      },
    );

    test(
      "a newline in a value can inject a [program:evil] section",
      [withProgram("command=/bin/true\n[program:evil]\ncommand=/bin/rm -rf /")],
      (o) => {
        const cfg = parsed(o);
        expect(cfg.programs.map((p) => p.name)).toEqual(["evil", "p"]);
        expect(cfg.programs.find((p) => p.name === "evil")?.command).toBe("/bin/rm -rf /");
      },
    );

    test("an indented next line is a continuation: the value gets a newline", [withProgram("command=/bin/echo a\n  b")], (o) => {
      expect(program(o).command).toBe("/bin/echo a\nb");
    });

    test(
      "later duplicate section/key wins; keys are case-insensitive; [Program:x] is ignored",
      [withProgram("command=one\nCommand=two", "[program:p]\nautostart=false\n[Program:q]\ncommand=x")],
      (o) => {
        expect(parsed(o).programs.map((p) => [p.name, p.command, p.autostart])).toEqual([["p", "two", false]]);
      },
    );
  });

  describe("program checks", () => {
    test(
      "numprocs=2 needs %(process_num) in process_name",
      [withProgram("command=x\nnumprocs=2"), withProgram("command=x\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)02d")],
      (bad, good) => {
        expect(error(bad)).toMatch(/%\(process_num\) must be present within process_name/);
        const cfg = parsed(good);
        expect(cfg.programs.map((p) => [p.process_name, p.group, p.numprocs])).toEqual([
          ["p_00", "p", 2],
          ["p_01", "p", 2],
        ]);
        expect(cfg.groups).toEqual([{ name: "p", kind: "program", priority: 999, programs: ["p_00", "p_01"] }]);
      },
    );

    test("numprocs=0 is accepted and yields a group with no process", [withProgram("command=x\nnumprocs=0")], (o) => {
      const cfg = parsed(o);
      expect(cfg.programs).toEqual([]);
      expect(cfg.groups).toEqual([{ name: "p", kind: "program", priority: 999, programs: [] }]);
    });

    test(
      "rejects stopasgroup=true with killasgroup=false; stopasgroup implies killasgroup",
      [withProgram("command=x\nstopasgroup=true\nkillasgroup=false"), withProgram("command=x\nstopasgroup=true")],
      (bad, good) => {
        expect(error(bad)).toMatch(/Cannot set stopasgroup=true and killasgroup=false/);
        expect(program(good)).toMatchObject({ stopasgroup: true, killasgroup: true });
      },
    );

    test("requires command= but accepts it empty", [withProgram("autostart=true"), withProgram("command=")], (none, empty) => {
      expect(error(none)).toMatch(/does not specify a command/);
      expect(program(empty).command).toBe("");
    });

    test(
      "rejects exitcodes=256 and unknown signals; accepts exitcodes= empty",
      ["exitcodes=256", "exitcodes=0,,2", "stopsignal=FOO", "stopsignal=32", "exitcodes="].map((l) => withProgram(`command=x\n${l}`)),
      (code256, emptyCode, foo, sig32, noCodes) => {
        expect(error(code256)).toMatch(/not a valid list of exit codes/);
        expect(error(emptyCode)).toMatch(/not a valid list of exit codes/);
        expect(error(foo)).toMatch(/not a valid signal name/);
        expect(error(sig32)).toMatch(/not a valid signal number/);
        expect(program(noCodes).exitcodes).toEqual([]);
      },
    );

    test("rejects unknown users", [withProgram("command=x\nuser=jaws-no-such-user"), withProgram("command=x\nuser=0")], (unknown, root) => {
      expect(error(unknown)).toMatch(/Invalid user name/);
      expect(program(root)).toMatchObject({ user: "root", uid: 0 });
    });
  });

  describe("environment= (legacy non-POSIX shlex)", () => {
    const envConfig = (value: string) => withProgram(`command=x\nenvironment=${value}`);
    /** environment= value, then the parsed environment or supervisor's error */
    const table = (name: string, cases: Array<[string, Record<string, string> | RegExp]>) =>
      test(
        name,
        cases.map(([value]) => envConfig(value)),
        (...outs) => {
          for (const [i, o] of outs.entries()) expectField(o, "environment", cases[i][1], `environment=${cases[i][0]}`);
        },
      );

    table('A="x y",B="1%%" yields {A: "x y", B: "1%"}', [['A="x y",B="1%%"', { A: "x y", B: "1%" }]]);

    table("mangles quotes: strips quote chars at both ends, no escapes, unquoted space swallows", [
      ['A="say \\"hi\\""', /Unexpected end of key\/value pairs/],
      [`A="'x'"`, { A: "x" }],
      [`A="it's"`, { A: "it's" }],
      ['A="a\\b"', { A: "a\\b" }],
      ['A="x"y"', { A: "x" }],
      ["A=x y", { A: "x" }],
      ["A=x y z=1", { A: "x", z: "1" }],
      ["A=1;B=2", { A: "1", B: "2" }],
      ["A=x#y", { A: "x" }],
      ['A="x#y"', { A: "x#y" }],
      ['A="x ;y"', /No closing quotation/],
      ["A=", /Unexpected end of key\/value pairs/],
    ]);

    table("accepts odd keys (1A, A.B, A-B, A:B, A/B) but not A@B or A$B", [
      ["1A=1,A.B=2,A-B=3,A:B=4,A/B=5", { "1A": "1", "A.B": "2", "A-B": "3", "A:B": "4", "A/B": "5" }],
      ["A@B=1", /Unexpected end of key\/value pairs/],
      ["A$B=1", /Unexpected end of key\/value pairs/],
    ]);
  });

  describe("groups", () => {
    test(
      "a [group:x] makes its programs members; other programs are their own group",
      [`${HEADER}\n[group:g]\nprograms=a,b\npriority=5\n[program:a]\ncommand=x\n[program:b]\ncommand=y\n[program:c]\ncommand=z\n`],
      (o) => {
        const cfg = parsed(o);
        expect(cfg.groups).toEqual([
          { name: "g", kind: "program", priority: 5, programs: ["a", "b"] },
          { name: "c", kind: "program", priority: 999, programs: ["c"] },
        ]);
        expect(cfg.programs.map((p) => [p.name, p.group])).toEqual([
          ["a", "g"],
          ["b", "g"],
          ["c", "c"],
        ]);
      },
    );

    test(
      "rejects a group naming a missing program (message names the wrong section in 4.2.5)",
      [`${HEADER}\n[group:g]\nprograms=a,zz\n[program:a]\ncommand=x\n`, `${HEADER}\n[group:g]\nprograms=zz\n`],
      (afterProgram, alone) => {
        expect(error(afterProgram)).toMatch(/\[program:a\] names unknown program or fcgi-program zz/);
        expect(error(alone)).toMatch(/\[group:g\] names unknown program or fcgi-program zz/);
      },
    );

    test(
      "a program may sit in two groups; a group may share a program's name (runtime keeps one)",
      [
        `${HEADER}\n[group:g]\nprograms=a\n[group:h]\nprograms=a\n[program:a]\ncommand=x\n`,
        `${HEADER}\n[group:a]\nprograms=b\n[program:a]\ncommand=x\n[program:b]\ncommand=y\n`,
      ],
      (two, clash) => {
        expect(parsed(two).programs.map((p) => p.group)).toEqual(["g", "h"]);
        expect(parsed(clash).groups.map((g) => g.name)).toEqual(["a", "a"]);
      },
    );
  });

  describe("directories", () => {
    const missing = join(tmpdir(), "jaws-definitely-missing-dir", "sub");

    test(
      "checks [supervisord] logfile/pidfile parents, childlogdir, directory and program log parents",
      [
        HEADER.replace("%(here)s/supervisord.log", `${missing}/s.log`),
        HEADER.replace("%(here)s/supervisord.pid", `${missing}/s.pid`),
        HEADER.replace("childlogdir=%(here)s", `childlogdir=${missing}`),
        HEADER.replace("childlogdir=%(here)s", `childlogdir=%(here)s\ndirectory=${missing}`),
        withProgram(`command=x\nstdout_logfile=${missing}/out.log`),
      ],
      (logfile, pidfile, childlogdir, directory, programLog) => {
        expect(error(logfile)).toMatch(/does not exist/);
        expect(error(pidfile)).toMatch(/does not exist/);
        expect(error(childlogdir)).toMatch(/is not an existing directory/);
        expect(error(directory)).toMatch(/is not an existing directory/);
        expect(error(programLog)).toMatch(/does not exist/);
      },
    );

    test(
      "does NOT check program directory= nor the unix socket's directory",
      [withProgram(`command=x\ndirectory=${missing}`), `${HEADER}\n[unix_http_server]\nfile=${missing}/s.sock\n`],
      (dir, socket) => {
        expect(program(dir).directory).toBe(missing);
        expect(parsed(socket).server.unix?.file).toBe(`${missing}/s.sock`);
      },
    );

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

  describe("value syntax", () => {
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
    const at = queue(cases.map(([lines]) => withProgram(`command=x\n${lines}`)));
    it.each(cases.map((c, i) => [i, ...c] as const))("#%i %s -> %s", (i, _lines, field, expected) => expectField(at(i), field, expected));
  });

  describe("section names", () => {
    test(
      "accepts . - @ unicode tab and even an empty name; rejects space, :, /",
      ["a.b", "a-b", "a@b", "ä中", "a\tb", "", "a b", "a:b", "a/b"].map((n) => `${HEADER}\n[program:${n}]\ncommand=x\n`),
      (...outs) => {
        expect(outs.map((o) => (o.ok ? o.programs[0].name : "ERR"))).toEqual(["a.b", "a-b", "a@b", "ä中", "a\tb", "", "ERR", "ERR", "ERR"]);
      },
    );
  });

  describe("http servers and rpcinterface", () => {
    test(
      "inet: bare port and *:port mean all interfaces; port range 1-65535",
      ["9001", "*:9001", "127.0.0.1:9001", "127.0.0.1:0", "127.0.0.1:65536"].map((p) => `${HEADER}\n[inet_http_server]\nport=${p}\n`),
      (...outs) => {
        expect(outs.map((o) => (o.ok ? [o.server.inet?.host, o.server.inet?.port] : "ERR"))).toEqual([
          ["", 9001],
          ["", 9001],
          ["127.0.0.1", 9001],
          "ERR",
          "ERR",
        ]);
      },
    );

    test(
      "server sections match by prefix: [inet_http_serverX] is a server",
      [`${HEADER}\n[inet_http_serverX]\nport=127.0.0.1:9001\n`],
      (o) => {
        expect(parsed(o).server.inet?.section).toBe("inet_http_serverX");
      },
    );

    test(
      "requires username and password together, and a resolvable rpcinterface factory",
      [
        `${HEADER}\n[unix_http_server]\nfile=/x.sock\nusername=u\n`,
        HEADER.replace("supervisor.rpcinterface:make_main_rpcinterface", "supervisor.rpcinterface:nope"),
        HEADER.replace(/\[rpcinterface:supervisor\][^\n]*\n[^\n]*\n/, ""),
      ],
      (halfAuth, badFactory, none) => {
        expect(error(halfAuth)).toMatch(/incomplete authentication/);
        expect(error(badFactory)).toMatch(/cannot be resolved within \[rpcinterface:supervisor\]/);
        expect(parsed(none).rpcinterfaces).toEqual([]);
      },
    );
  });

  describe("batch parsing", () => {
    it("returns one outcome per input, in order, in one python process", () => {
      const outs = parseSupervisordConfigs([withProgram("command=a"), "[program:x]\ncommand=y\n", withProgram("command=%(here)s/b")]);
      expect(outs.map((o) => o.ok)).toEqual([true, false, true]);
      expect((outs[2] as ParsedConfig).programs[0].command).toMatch(/\/2\/b$/);
    });
  });
});
