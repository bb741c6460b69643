/**
 * What a deployment needs beyond its programs, as rendered and run by the real bash: wrappers as
 * JAWS wrote them (login shell, the program's preamble, the host's locale), the directories of the
 * deployment (group, mode, setgid, default ACLs), the bootstrap preamble's `module` from the login
 * profile, drop-in globs in the config's [include], and the preflight step of the deploy.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localeKey, renderInstance, renderSupervisordConfig, renderWrapper } from "../../../constructs/render/render-instance";
import { model, parseRendered, prepareInstanceDir, realBaseDirectory } from "../../support/fixtures";
import { requireSupervisordParser } from "../../support/supervisord-parser";

const HOST_LOCALES = spawnSync("locale", ["-a"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
const hostHas = (locale: string) => HOST_LOCALES.some((l) => localeKey(l) === localeKey(locale));

/** A `module` like Lmod's, defined by the login profile only: `module load X` exports LOADED_MODULE=X. */
const MODULE_PROFILE = 'module() { [ "$1" = load ] && export LOADED_MODULE="$2"; echo "module $*" >>"$HOME/module.log"; }\n';

let tmp: { base: string; cleanup: () => void };
beforeAll(() => {
  tmp = realBaseDirectory();
});
afterAll(() => tmp.cleanup());

/** A home directory whose ~/.bash_profile defines `module` (or has no profile). */
function home(name: string, profile = MODULE_PROFILE): string {
  const dir = join(tmp.base, name);
  mkdirSync(dir, { recursive: true });
  if (profile) writeFileSync(join(dir, ".bash_profile"), profile);
  return dir;
}

/** Runs a script file as bash would from supervisord: clean environment, HOME given. */
function runScript(name: string, text: string, env: Record<string, string>) {
  const file = join(tmp.base, name);
  writeFileSync(file, text);
  chmodSync(file, 0o700);
  return spawnSync(file, [], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", ...env } });
}

const PRINT_ENV = ["/bin/sh", "-c", 'echo "LC_ALL=$LC_ALL LANG=$LANG LOADED_MODULE=${LOADED_MODULE:-none} X=$X"'];

describe("wrappers as JAWS wrote them", () => {
  it("login shell: the program's preamble runs with the profile's `module`, then the environment, then exec", () => {
    const m = model(
      {},
      {
        p: {
          command: PRINT_ENV,
          loginShell: true,
          shellPreamble: ["module load python/3.11", 'echo "unset: [$NOT_SET]" >&2'],
          environment: { X: "1" },
        },
      },
    );
    const text = renderWrapper(m, m.services[0]);
    expect(text.split("\n")[0]).toBe("#!/bin/bash -l");
    // Operator code as written, with unset variables allowed around it only.
    expect(text).toContain('\nset +u\nmodule load python/3.11\necho "unset: [$NOT_SET]" >&2\nset -u\n');
    const r = runScript("login.sh", text, { HOME: home("login") });
    expect(r.stderr).toBe("unset: []\n");
    expect(r.stdout).toMatch(/LOADED_MODULE=python\/3\.11 X=1\n$/);
  });

  it("without loginShell: a plain bash, where a preamble needing the profile's `module` fails the start", () => {
    const m = model({}, { p: { command: PRINT_ENV, shellPreamble: ["module load python/3.11"] } });
    const text = renderWrapper(m, m.services[0]);
    expect(text.split("\n")[0]).toBe("#!/bin/bash");
    const r = runScript("plain.sh", text, { HOME: home("plain") });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/module: command not found/);
    expect(r.stdout).toBe("");
  });

  it.each([["en_US.UTF-8"], ["C.UTF-8"], ["c.utf8"]])(
    "locale %s: exported when the host has it in any spelling, C.UTF-8 otherwise; never a setlocale warning",
    (locale) => {
      const m = model({}, { p: { command: PRINT_ENV, locale } });
      const r = runScript("locale.sh", renderWrapper(m, m.services[0]), { HOME: home("locale", "") });
      expect(r.stderr).toBe("");
      const [, exported] = /^LC_ALL=(\S+) LANG=(\S+)/.exec(r.stdout) ?? [];
      if (hostHas(locale)) expect(localeKey(exported)).toBe(localeKey(locale));
      else expect(exported).toBe("C.UTF-8");
      expect(r.stdout).toContain(`LANG=${exported} `);
    },
  );

  it("a declared LC_ALL wins over the locale check", () => {
    const m = model({}, { p: { command: PRINT_ENV, environment: { LC_ALL: "C", X: "y" } } });
    const r = runScript("lcall.sh", renderWrapper(m, m.services[0]), { HOME: home("lcall", "") });
    expect(r.stdout).toMatch(/^LC_ALL=C LANG=\S+ LOADED_MODULE=none X=y$/m);
  });

  it("a change of login shell or preamble changes that program's fingerprint only", () => {
    const services = (extra: object) => ({ a: { command: ["true"], ...extra }, b: { command: ["true"] } });
    const base = renderInstance(model({}, services({})));
    for (const extra of [{ loginShell: true }, { shellPreamble: ["module load x"] }, { locale: "C.UTF-8" }]) {
      const r = renderInstance(model({}, services(extra)));
      expect(r.manifest.instance).toBe(base.manifest.instance);
      expect(r.manifest.programs[0].fingerprint).not.toBe(base.manifest.programs[0].fingerprint);
      expect(r.manifest.programs[1].fingerprint).toBe(base.manifest.programs[1].fingerprint);
    }
  });
});

/** The rendered lib/jaws-lib.sh of `m`, sourced by bash, then `script`; as this user, HOME given. */
function withLib(m: ReturnType<typeof model>, script: string, homeDir = home("libhome", "")) {
  const lib = join(tmp.base, `lib-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(lib, renderInstance(m).files.find((f) => f.path === "lib/jaws-lib.sh")!.content);
  return spawnSync("bash", ["-c", `set -Eeuo pipefail; . ${lib}; ${script}`], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: homeDir },
  });
}

const ownGroup = spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim();
const myGroups = spawnSync("id", ["-Gn"], { encoding: "utf8" }).stdout.trim().split(/\s+/);
const notMine = readFileSync("/etc/group", "utf8")
  .split("\n")
  .map((l) => l.split(":")[0])
  .find((g) => g && !myGroups.includes(g)) as string;
const HAS_SETFACL = spawnSync("sh", ["-c", "command -v setfacl"]).status === 0;

describe("the directories of a deployment (lib/jaws-lib.sh, real bash, chmod, chgrp, setfacl)", () => {
  const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

  it("made with group, mode (setgid) and default ACLs; corrected on the next run; setgid kept by a 3-digit mode", () => {
    const inputs = join(tmp.base, "scratch", "inputs");
    const logs = join(tmp.base, "scratch", "logs");
    const m = model({
      directories: [
        { path: inputs, mode: "2770", group: ownGroup, defaultAcl: [`g:${ownGroup}:rwx`, "o::---"] },
        { path: logs, mode: "0750" },
      ],
    });
    const r = withLib(m, "ensure_directories");
    expect(r.status, r.stderr).toBe(0);
    expect(mode(inputs)).toBe("2770");
    expect(mode(logs)).toBe("750");
    if (HAS_SETFACL) {
      expect(r.stdout).toContain(`directory ${inputs}: mode 2770, group ${ownGroup}, default ACL g:${ownGroup}:rwx,o::---\n`);
      const acl = spawnSync("getfacl", ["-p", inputs], { encoding: "utf8" }).stdout;
      expect(acl).toContain(`default:group:${ownGroup}:rwx`);
      expect(acl).toContain("default:other::---");
    } else {
      expect(r.stdout).toMatch(/WARNING: setfacl is not installed on .*: the directories' default ACLs are not applied/);
    }
    // Someone changed them: the next run puts them back; a setgid bit the operator added to a 0750 one stays.
    chmodSync(inputs, 0o755);
    chmodSync(logs, 0o2750);
    const again = withLib(m, "ensure_directories");
    expect(again.status, again.stderr).toBe(0);
    expect([mode(inputs), mode(logs)]).toEqual(["2770", "2750"]);
  });

  it("a group the user is not in: fails naming it, before creating anything", () => {
    const dir = join(tmp.base, "scratch", "other");
    const r = withLib(model({ directories: [{ path: dir, mode: "2770", group: notMine }] }), "ensure_directories");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`ERROR: directory ${dir}: user `);
    expect(r.stderr).toContain(`is not in group ${notMine}`);
    expect(existsSync(dir)).toBe(false);
  });

  it("setfacl off (a site flag): no ACL applied, no warning", () => {
    const dir = join(tmp.base, "scratch", "noacl");
    const r = withLib(model({ setfacl: false, directories: [{ path: dir, mode: "0770", defaultAcl: ["g::rwx"] }] }), "ensure_directories");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`[jaws-dev] directory ${dir}: mode 770, group ${ownGroup}\n`);
  });

  it("destroy names the directories it leaves (DATA_DIRS in the library; its own text does not depend on them)", () => {
    const a = renderInstance(model({ directories: [{ path: "/data/a" }, { path: "/data/b" }] }));
    const b = renderInstance(model({}));
    expect(a.destroyScript).toBe(b.destroyScript);
    expect(a.files.find((f) => f.path === "lib/jaws-lib.sh")!.content).toContain("\nDATA_DIRS='/data/a /data/b'\n");
    // Part of the deploy id, in no fingerprint: a change restarts nothing.
    expect(a.deployId).not.toBe(b.deployId);
    expect(a.manifest).toEqual(b.manifest);
  });
});

describe("the deploy scripts' bootstrap preamble", () => {
  it("`module` from the login profile when the script does not have it", () => {
    const h = home("boot");
    const r = withLib(model({ shellPreamble: ["module load python/3.11", 'echo "loaded $LOADED_MODULE"'] }), "true", h);
    expect(r.status, r.stderr).toBe(0);
    // The profile's stdout is dropped, the preamble's is not.
    expect(r.stdout).toBe("loaded python/3.11\n");
    expect(readFileSync(join(h, "module.log"), "utf8")).toBe("module load python/3.11\n");
  });

  it("fails when neither the script nor the profile has `module`", () => {
    const r = withLib(model({ shellPreamble: ["module load python/3.11"] }), "true", home("noprofile", ""));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/module: command not found/);
  });

  it("no preamble: the profile is not read", () => {
    const h = home("nopre", 'echo "profile read" >"$HOME/read"\n');
    const r = withLib(model({}), "true", h);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(h, "read"))).toBe(false);
  });
});

describe("the deploy: locale warning, drop-ins, preflight", () => {
  beforeAll(() => requireSupervisordParser());

  it("warns once per missing locale, naming its programs", () => {
    const missing = "xx_XX.UTF-8";
    const m = model({}, { a: { command: ["true"], locale: missing }, b: { command: ["true"], locale: missing }, c: { command: ["true"] } });
    const r = withLib(m, "warn_missing_locales");
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines).toContain(
      `[jaws-dev] WARNING: locale ${missing} is not installed on ${spawnSync("hostname", { encoding: "utf8" }).stdout.trim()} (locale -a): programs a, b run with C.UTF-8 instead`,
    );
    expect(lines.some((l) => l.includes("en_US.UTF-8"))).toBe(!hostHas("en_US.UTF-8"));
    expect(lines).toHaveLength(hostHas("en_US.UTF-8") ? 1 : 2);
  });

  it("the config includes the drop-in globs after its own credentials, and supervisord's parser reads them", () => {
    const m = model(
      { baseDirectory: tmp.base, includeFiles: [`${tmp.base}/cromwell/*.conf`, "/nonexistent/pool-*.conf"] },
      { p: { command: ["true"] } },
    );
    prepareInstanceDir(m);
    mkdirSync(join(tmp.base, "cromwell"), { recursive: true });
    writeFileSync(
      join(tmp.base, "cromwell", "cromwell.conf"),
      "[program:cromwell]\ncommand=/bin/sleep 1000\nstdout_logfile=NONE\nstderr_logfile=NONE\n",
    );
    const conf = renderSupervisordConfig(m);
    expect(conf).toMatch(
      new RegExp(`\\n\\[include\\]\\nfiles = ${m.dir}/secret/auth\\.conf ${tmp.base}/cromwell/\\*\\.conf /nonexistent/pool-\\*\\.conf\\n$`),
    );
    const parsed = parseRendered(m, conf);
    expect(parsed.programs.map((p) => p.name).sort()).toEqual(["cromwell", "p"]);
    // Only our programs are in the manifest: the health gate and the fingerprints ignore drop-ins.
    expect(renderInstance(m).manifest.programs.map((p) => p.name)).toEqual(["p"]);
  });

  it("preflight, directories and locales before the config check, all before the plan; ensure makes the directories too", () => {
    const r = renderInstance(
      model({
        preflight: [
          { host: "central.example.org", port: 443, name: "JAWS central" },
          { host: "10.0.0.5", port: 5672 },
        ],
        preflightTimeoutSeconds: 3,
      }),
    );
    const deploy = r.files.find((f) => f.path === "bin/deploy")!.content;
    const at = (s: string) => deploy.indexOf(s);
    expect(deploy).toContain(
      "ctl preflight --timeout 3 --endpoint 'JAWS central' central.example.org 443 --endpoint 10.0.0.5:5672 10.0.0.5 5672\n",
    );
    const order = [
      "\nbootstrap\n",
      "ctl preflight",
      "\nensure_directories\n",
      "\nwarn_missing_locales\n",
      "ctl check-config",
      "ctl plan",
      "ctl dropin-plan",
      "\nconverge new",
    ];
    expect(order.map(at).every((i, k) => i > 0 && (k === 0 || i > at(order[k - 1])))).toBe(true);
    expect(renderInstance(model({})).files.find((f) => f.path === "bin/deploy")!.content).not.toContain("ctl preflight");
    expect(r.files.find((f) => f.path === "bin/ensure")!.content).toMatch(/ensure_secret\n.*ensure_directories/);
  });
});
