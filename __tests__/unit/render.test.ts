import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InstanceModel, processNames, renderInstance, renderSupervisordConfig, renderWrapper } from "../../constructs";
import { model, parseRendered, prepareInstanceDir, realBaseDirectory } from "../support/fixtures";
import { supervisordParserAvailable } from "../support/supervisord-parser";

const PY = "/usr/bin/python3";
// Python's own shlex, which supervisord uses to split `command=` after % expansion.
const shlexSplit = (s: string): string[] =>
  JSON.parse(
    spawnSync(PY, ["-c", "import json,shlex,sys; print(json.dumps(shlex.split(sys.stdin.read())))"], { input: s, encoding: "utf8" }).stdout,
  );

const HOSTILE_ARGS = [
  "plain",
  "with space",
  "semi ; rm -rf ~",
  "hash # comment",
  "100%",
  "%(ENV_HOME)s meant literally? no: kept as expansion",
  "quote ' single",
  'quote " double',
  "back\\slash",
  "dollar $HOME and ${HOME} and $(id) and `id`",
  "percent-brace %{x}",
  "tab\there",
  "unicode: été ✓",
  "",
];

let base: { base: string; cleanup: () => void };
beforeAll(() => {
  const reason = supervisordParserAvailable();
  if (reason && process.env.CI === "true") throw new Error(`supervisord parser missing: ${reason}`);
  base = realBaseDirectory();
});
afterAll(() => base?.cleanup());

function realModel(options: Parameters<typeof model>[0], services: Parameters<typeof model>[1]): InstanceModel {
  const m = model({ baseDirectory: base.base, ...options }, services);
  prepareInstanceDir(m);
  return m;
}

describe.skipIf(!!supervisordParserAvailable())("rendered configs, loaded by the real supervisord parser", () => {
  it("a full JAWS-like instance parses with the values meant", () => {
    const m = realModel(
      { environment: { TZ: "UTC", RATIO: "100%" }, loglevel: "debug", minfds: 4096 },
      {
        daemon: { command: ["jaws-site", "--config", "/srv/jaws site.conf", "daemon"], venv: "/srv/venv", priority: 5 },
        direct: { command: "echo 'a ; b' 100%", useWrapper: false, environment: { A: "x y", B: "1%", C: "a,b" }, oneShot: true },
        workers: { command: ["sleep", "100"], numprocs: 3, numprocsStart: 1 },
        quiet: { command: ["true"], autostart: false, redirectStderr: true, stopsignal: "INT", exitcodes: [0, 2], autorestart: true },
      },
    );
    const parsed = parseRendered(m, renderSupervisordConfig(m));
    expect(parsed.supervisord).toMatchObject({ loglevel: "debug", minfds: 4096, logfile_backups: 2, logfile_maxbytes: 50 * 1024 * 1024 });
    expect(parsed.supervisord.identifier).toBe("supervisor-jaws-dev");
    expect(parsed.supervisord.environment).toEqual({ TZ: "UTC", RATIO: "100%" });
    expect(parsed.rpcinterfaces).toEqual(expect.arrayContaining(["supervisor", "jawsdeploy"]));
    expect(parsed.server.unix).toMatchObject({ file: `${m.dir}/run/supervisor.sock`, chmod: "0700" });
    expect(parsed.server.inet).toBeNull();

    const byProcess = Object.fromEntries(parsed.programs.map((p) => [p.process_name, p]));
    expect(Object.keys(byProcess).sort()).toEqual(["daemon", "direct", "quiet", "workers_01", "workers_02", "workers_03"]);
    for (const p of parsed.programs) expect(p.group).toBe("jaws-dev");
    expect(byProcess.daemon).toMatchObject({ command: `${m.dir}/bin/daemon.sh`, priority: 5, stopasgroup: true, killasgroup: true });
    expect(byProcess.daemon).toMatchObject({ startsecs: 3, startretries: 3, autorestart: "unexpected", stdout_logfile_backups: 2 });
    expect(shlexSplit(byProcess.direct.command)).toEqual(["echo", "a ; b", "100%"]);
    // supervisord merges its own environment into each program's.
    expect(byProcess.direct.environment).toMatchObject({ A: "x y", B: "1%", C: "a,b" });
    expect(byProcess.direct).toMatchObject({ startsecs: 0, startretries: 0, autorestart: "false" });
    expect(byProcess.workers_02.stdout_logfile).toBe(`${m.dir}/log/workers_02.out.log`);
    expect(byProcess.quiet).toMatchObject({
      autostart: false,
      redirect_stderr: true,
      stopsignal: "SIGINT",
      exitcodes: [0, 2],
      autorestart: "true",
    });
    expect(parsed.groups).toEqual([expect.objectContaining({ name: "jaws-dev", priority: 999 })]);
    // The manifest names the same processes supervisord makes.
    expect(m.services.flatMap((s) => processNames(m, s)).sort()).toEqual(Object.keys(byProcess).sort());
  });

  it("hostile arguments reach the program exactly, without a wrapper", () => {
    const args = HOSTILE_ARGS.filter((a) => !a.includes("%(ENV_"));
    const m = realModel({}, { p: { command: ["prog", ...args], useWrapper: false } });
    const parsed = parseRendered(m, renderSupervisordConfig(m));
    expect(parsed.programs).toHaveLength(1);
    expect(shlexSplit(parsed.programs[0].command)).toEqual(["prog", ...args]);
  });

  it("inet_http_server binds to 127.0.0.1 by default", () => {
    const m = realModel({ inetPort: 64101 }, { p: { command: ["true"] } });
    const parsed = parseRendered(m, renderSupervisordConfig(m));
    expect(parsed.server.inet).toMatchObject({ host: "127.0.0.1", port: 64101 });
    expect(parsed.server.unix).toBeNull();
  });

  it("the include adds the credentials made on the host", () => {
    const m = realModel({}, { p: { command: ["true"] } });
    const parsed = parseRendered(m, renderSupervisordConfig(m));
    expect(parsed.server.unix).toMatchObject({ username: "jaws-dev", password_set: true });
    expect(renderSupervisordConfig(m)).not.toMatch(/password/);
  });
});

describe("wrapper scripts, run by the real bash", () => {
  it("export a UTF-8 locale by default", () => {
    const m = model({}, { p: { command: ["true"] } });
    expect(renderWrapper(m, m.services[0])).toMatch(
      /^export LANG=en_US\.UTF-8\nexport LC_ALL=en_US\.UTF-8\nexport PYTHONIOENCODING=utf-8$/m,
    );
  });

  it("export the environment and exec the exact argv", () => {
    const env = { WEIRD: 'it\'s "quoted" $HOME ${X} `id` \\ %{y} ; #', EMPTY: "", UNICODE: "été" };
    const argv = [
      "-c",
      "import json,os,sys; print(json.dumps({'argv': sys.argv[1:], 'env': {k: os.environ.get(k) for k in sys.argv[1:8]}}))",
    ];
    const names = ["WEIRD", "EMPTY", "UNICODE", "LANG", "LC_ALL", "PYTHONIOENCODING", "VIRTUAL_ENV"];
    const m = model(
      { baseDirectory: "/srv/jaws" },
      { p: { command: [PY, ...argv, ...names, ...HOSTILE_ARGS], environment: env, venv: "/srv/venv x", locale: "C.UTF-8" } },
    );
    const script = renderWrapper(m, m.services[0]);
    const dir = realBaseDirectory();
    try {
      const file = join(dir.base, "p.sh");
      writeFileSync(file, script);
      chmodSync(file, 0o700);
      const r = spawnSync(file, [], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout);
      expect(out.argv).toEqual([...names, ...HOSTILE_ARGS]);
      expect(out.env).toEqual({ ...env, LANG: "C.UTF-8", LC_ALL: "C.UTF-8", PYTHONIOENCODING: "utf-8", VIRTUAL_ENV: "/srv/venv x" });
      expect(spawnSync("bash", ["-n", file]).status).toBe(0);
    } finally {
      dir.cleanup();
    }
  });
});

describe("the deploy bundle", () => {
  it("writes every file byte for byte, even content that looks like its delimiter", () => {
    const m = model({ baseDirectory: "/srv/jaws" }, { JAWS_DEPLOY_EOF: { command: ["echo", "JAWS_DEPLOY_EOF"] } });
    const r = renderInstance(m);
    const dir = realBaseDirectory();
    try {
      // Run only the file-writing part of the bundle, into a scratch directory.
      const bundle = r.bundle.replaceAll(m.dir, join(dir.base, "inst")).replace(/^exec bash .*$/m, "exit 0");
      const res = spawnSync("bash", ["-c", bundle], { encoding: "utf8" });
      expect(res.status, res.stderr).toBe(0);
      for (const f of r.files) {
        const got = readFileSync(join(dir.base, "inst", ".deploy", "incoming", f.path), "utf8");
        expect(got).toBe(f.content.replaceAll(m.dir, join(dir.base, "inst")));
      }
    } finally {
      dir.cleanup();
    }
  });

  it("every shell script it carries is valid bash", () => {
    const r = renderInstance(
      model({ shellPreamble: ["module load python", "source /etc/profile"], ensureCron: true }, { p: { command: ["true"] } }),
    );
    for (const text of [
      r.bundle,
      r.destroyScript,
      ...r.files.filter((f) => f.path.startsWith("bin/") || f.path.endsWith(".sh")).map((f) => f.content),
    ]) {
      const res = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
      expect(res.status, res.stderr).toBe(0);
    }
  });

  it("is deterministic and changes its deploy id with any change", () => {
    const a = renderInstance(model({}, { p: { command: ["true"] } }));
    expect(renderInstance(model({}, { p: { command: ["true"] } }))).toEqual(a);
    const b = renderInstance(model({}, { p: { command: ["true"], environment: { X: "1" } } }));
    expect(b.deployId).not.toBe(a.deployId);
    expect(b.manifest.instance).toBe(a.manifest.instance);
    expect(b.manifest.programs[0].fingerprint).not.toBe(a.manifest.programs[0].fingerprint);
    const c = renderInstance(model({ loglevel: "debug" }, { p: { command: ["true"] } }));
    expect(c.manifest.instance).not.toBe(a.manifest.instance);
    expect(c.manifest.programs[0].fingerprint).toBe(a.manifest.programs[0].fingerprint);
  });

  it("refuses to render an invalid model", () => {
    expect(() => renderInstance(model({ port: 0 }))).toThrow(/\[app\/jaws\] port/);
  });
});
