import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InstanceModel } from "../../../constructs";
import { heredocDelimiter } from "../../../constructs/render/escape";
import { processNames, renderInstance, renderSupervisordConfig, renderWrapper } from "../../../constructs/render/render-instance";
import { model, parseRendered, prepareInstanceDir, pythonShlexSplit, realBaseDirectory } from "../../support/fixtures";
import { requireSupervisordParser, SUPERVISOR_PYTHON } from "../../support/supervisord-parser";

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

describe("rendered configs, loaded by the real supervisord parser", () => {
  let base: { base: string; cleanup: () => void } | undefined;
  beforeAll(() => {
    requireSupervisordParser();
    base = realBaseDirectory();
  });
  afterAll(() => base?.cleanup());

  function realModel(options: Parameters<typeof model>[0], services: Parameters<typeof model>[1]): InstanceModel {
    const m = model({ baseDirectory: base!.base, ...options }, services);
    prepareInstanceDir(m);
    return m;
  }

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
    expect(pythonShlexSplit(byProcess.direct.command)).toEqual(["echo", "a ; b", "100%"]);
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
    expect(pythonShlexSplit(parsed.programs[0].command)).toEqual(["prog", ...args]);
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
  it("export a UTF-8 locale by default: en_US.UTF-8 where the host has it, C.UTF-8 otherwise", () => {
    const m = model({}, { p: { command: ["true"] } });
    const text = renderWrapper(m, m.services[0]);
    expect(text).toMatch(/^LANG=\$\(jaws_locale en_US\.UTF-8\)\nexport LANG LC_ALL=\$LANG$/m);
    expect(text).toMatch(/^export PYTHONIOENCODING=utf-8$/m);
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
      { p: { command: [SUPERVISOR_PYTHON, ...argv, ...names, ...HOSTILE_ARGS], environment: env, venv: "/srv/venv x", locale: "C.UTF-8" } },
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
  const EOF = "JAWS_DEPLOY_EOF";

  /**
   * Runs only the file-writing part of `bundle` (rendered for `m`), with the instance directory
   * moved to a scratch directory (written as INST); returns the run and the staged `paths`
   * (undefined when not written), their content with INST for the scratch directory.
   */
  function stageFiles(m: InstanceModel, bundle: string, paths: string[]) {
    const dir = realBaseDirectory();
    try {
      const inst = join(dir.base, "inst");
      // From a file, as Terraform's remote-exec runs it: the bundle is longer than one argument may be (128 KiB).
      const script = join(dir.base, "bundle.sh");
      writeFileSync(script, bundle.replaceAll(m.dir, inst).replace(/^exec bash .*$/m, "exit 0"));
      const res = spawnSync("bash", [script], { encoding: "utf8" });
      const staged = (path: string) => {
        const file = join(inst, ".deploy", "incoming", path);
        return existsSync(file) ? readFileSync(file, "utf8").replaceAll(inst, "INST") : undefined;
      };
      return { status: res.status, stderr: res.stderr, files: Object.fromEntries(paths.map((p) => [p, staged(p)])) };
    } finally {
      dir.cleanup();
    }
  }

  it("writes every file byte for byte, even content that looks like its delimiter", () => {
    // A program named like the delimiter, and a preamble line that is the delimiter (indented in lib/jaws-lib.sh).
    const m = model({ baseDirectory: "/srv/jaws", shellPreamble: [EOF] }, { [EOF]: { command: ["echo", EOF] } });
    const r = renderInstance(m);
    expect(r.files.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "supervisord.conf",
        `bin/${EOF}.sh`,
        "lib/jaws-lib.sh",
        "state/programs.json",
        "bin/deploy",
        "state/deploy-id",
      ]),
    );
    expect(r.files.filter((f) => f.content.includes(EOF)).map((f) => f.path)).toEqual(
      expect.arrayContaining(["supervisord.conf", `bin/${EOF}.sh`, "lib/jaws-lib.sh"]),
    );
    expect(r.files.find((f) => f.path === "lib/jaws-lib.sh")!.content.split("\n")).toContain(`  ${EOF}`);
    for (const f of r.files) {
      // The bundle puts the delimiter right after the content: a file must end its last line.
      expect(f.content.endsWith("\n"), f.path).toBe(true);
      // No line is the delimiter itself, so every file keeps the plain one.
      expect(r.bundle).toContain(`cat >"$STAGE/${f.path}" <<'${EOF}'\n${f.content}${EOF}\n`);
    }
    const staged = stageFiles(
      m,
      r.bundle,
      r.files.map((f) => f.path),
    );
    expect(staged.status, staged.stderr).toBe(0);
    for (const f of r.files) expect(staged.files[f.path], f.path).toBe(f.content.replaceAll(m.dir, "INST"));
  });

  it("picks another delimiter for content with a line equal to it, and still writes that content exactly", () => {
    expect(heredocDelimiter("a\nb\n")).toBe(EOF);
    // Only a whole line collides.
    expect(heredocDelimiter(`  ${EOF}\n${EOF} \nx${EOF}\n${EOF}_1\n`)).toBe(EOF);
    expect(heredocDelimiter(`a\n${EOF}\n`)).toBe(`${EOF}_1`);
    expect(heredocDelimiter(`${EOF}\n${EOF}_1\n${EOF}_3\n`)).toBe(`${EOF}_2`);

    // No model makes such a line (validation keeps newlines out of every value), so put one
    // into a rendered bundle: the deploy id's file, in the bundle's own heredoc form.
    const m = model({ baseDirectory: "/srv/jaws" }, { p: { command: ["true"] } });
    const r = renderInstance(m);
    const id = r.files.find((f) => f.path === "state/deploy-id")!;
    const block = (content: string, delimiter: string) => `<<'${delimiter}'\n${content}${delimiter}\n`;
    expect(r.bundle.split(block(id.content, EOF))).toHaveLength(2);
    const colliding = `first\n${EOF}\n${EOF}_1\nlast\n`;
    const delimiter = heredocDelimiter(colliding);
    expect(delimiter).toBe(`${EOF}_2`);
    const ok = stageFiles(m, r.bundle.replace(block(id.content, EOF), block(colliding, delimiter)), ["state/deploy-id"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.files["state/deploy-id"]).toBe(colliding);
    // With the plain delimiter the heredoc would end at the first such line and bash run the rest.
    const cut = stageFiles(m, r.bundle.replace(block(id.content, EOF), block(colliding, EOF)), ["state/deploy-id"]);
    expect(cut.status).not.toBe(0);
    expect(cut.files["state/deploy-id"]).toBe("first\n");
  });

  it.each([
    ["daemon", { ensureCron: true }],
    ["slurm (crontab)", { launcher: "slurm", inetPort: 64101, slurmAddressHook: ["nsupdate -k key <<<'x'"] }],
    ["slurm (scrontab)", { launcher: "slurm", inetPort: 64101, slurmStarter: "scrontab", slurmStarterOptions: ["--qos=cron"] }],
  ] as const)("every shell script it carries is valid bash: %s", (_label, options) => {
    const r = renderInstance(
      model({ shellPreamble: ["module load python", "source /etc/profile"], ...options }, { p: { command: ["true"] } }),
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

  it("the starter's scrontab block starts and ends with the marker lines the shell library removes it by", () => {
    const m = model({ launcher: "slurm", inetPort: 64101, slurmStarter: "scrontab" }, { p: { command: ["true"] } });
    const files = Object.fromEntries(renderInstance(m).files.map((f) => [f.path, f.content]));
    const markers = spawnSync(
      "bash",
      [
        "-c",
        `DIR=${m.dir}\n${files["lib/jaws-lib.sh"]
          .split("\n")
          .filter((l) => /^SCRON_(BEGIN|END)=/.test(l))
          .join("\n")}\nprintf '%s\\n' "$SCRON_BEGIN" "$SCRON_END"`,
      ],
      { encoding: "utf8" },
    ).stdout.split("\n");
    const block = files["lib/starter.scrontab"].trimEnd().split("\n");
    expect([block[0], block[block.length - 1]]).toEqual(markers.slice(0, 2));
    expect(markers[0]).toBe(`# jaws-deploy:${m.dir} begin`);
  });

  it("a daemon instance carries nothing of the Slurm launcher; a Slurm one its job script, starter and scrontab block", () => {
    const paths = (o: Parameters<typeof model>[0]) => renderInstance(model(o, { p: { command: ["true"] } })).files.map((f) => f.path);
    const daemon = renderInstance(model({}, { p: { command: ["true"] } }));
    expect(daemon.files.map((f) => f.path).filter((p) => /slurm-job|starter/.test(p))).toEqual([]);
    // (bin/deploy names every module of the jawsctl package it installs, slurm.py among them.)
    for (const f of daemon.files.filter((x) => !x.path.startsWith("lib/jawsctl/")))
      expect(f.content.replaceAll("lib/jawsctl/slurm.py", ""), f.path).not.toMatch(/slurm|SCRON/i);
    expect(daemon.destroyScript).not.toMatch(/slurm/i);
    expect(paths({ launcher: "slurm", inetPort: 64101 }).filter((p) => /slurm-job|starter/.test(p))).toEqual([
      "bin/slurm-job",
      "bin/starter",
    ]);
    expect(paths({ launcher: "slurm", inetPort: 64101, slurmStarter: "scrontab" }).filter((p) => /slurm-job|starter/.test(p))).toEqual([
      "bin/slurm-job",
      "bin/starter",
      "lib/starter.scrontab",
    ]);
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
    expect(c.deployId).not.toBe(a.deployId);
    // The id names the deploy on the host: the bundle and the recorded id carry the same one.
    for (const r of [a, b, c]) {
      expect(r.bundle).toContain(`deploy id ${r.deployId}`);
      expect(r.files.find((f) => f.path === "state/deploy-id")?.content).toBe(`${r.deployId}\n`);
    }
    // A setting only the deploy script renders changes the id too.
    const d = renderInstance(model({ ensureCron: true }, { p: { command: ["true"] } }));
    expect(new Set([a, b, c, d].map((r) => r.deployId)).size).toBe(4);
  });

  it("refuses to render an invalid model", () => {
    expect(() => renderInstance(model({ port: 0 }))).toThrow(/\[app\/jaws\] port/);
  });
});
