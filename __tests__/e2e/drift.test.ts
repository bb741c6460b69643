/**
 * Drift detection over real SSH to the test host: `npm run drift -- testhost dev` right after a
 * deploy says in sync (exit 0); each kind of drift made by hand on the host (a program stopped, a
 * config line edited, a wrapper edited, the venv removed, an extra program started through
 * supervisorctl, a config file with a secret edited) is named, with exit 1, in one SSH session per
 * instance, never showing the secret; `--json` matches the documented schema; an unreachable host
 * gives exit 2; the printed fix brings the host back (exit 0).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunResult, run } from "../../testkit/commands";
import { processesMatching } from "../../testkit/processes";
import { BIN, Project, REPO } from "../../testkit/project";
import {
  countSshSessions,
  freeStablePort,
  ROLES,
  resetUserHome,
  runAsUser,
  sshLogOffset,
  type TestHostInfo,
} from "../../testkit/test-host";
import { instanceDir, SITE_NAME, siteBaseline, type Variant } from "../../testkit/test-site";
import { useTestHost } from "../host/use-test-host";
import { hostFile, timing, waitFor } from "./support/fixture";
import { shapeProblems } from "./support/json-shape";

const { info, skipReason } = useTestHost();
const SCHEMA = JSON.parse(fs.readFileSync(path.join(REPO, "scripts", "drift-report.schema.json"), "utf8"));

/** A secret of jtm's config file, as a CI variable gives it (and the key of its fingerprints). */
const SECRET_VARIABLE = "JAWS_TEST_DRIFT_DB_PASSWORD";
const SECRET = `drift-s3cret-${process.pid}`;

/** The site's baseline with a config file holding a secret for jtm's worker. */
function driftSite(): Variant {
  const v = siteBaseline();
  v.jtm.configFiles = {
    db: {
      path: "config/db.conf",
      template: "[db]\npassword = {{secret.password}}\n",
      secrets: { password: { envVariable: SECRET_VARIABLE } },
    },
  };
  v.jtm.services["jaws-worker"] = { ...v.jtm.services["jaws-worker"], configFileIds: ["db"] };
  return v;
}

describe.skipIf(!info)(`drift detection (${skipReason ?? "real host"})`, () => {
  const host = info as TestHostInfo;
  const project = new Project(host, {
    viaApp: true,
    env: { JAWS_SECRETS_FINGERPRINT_KEY: `drift-fp-key-${process.pid}`, [SECRET_VARIABLE]: SECRET },
  });
  beforeAll(async () => {
    for (const role of ROLES) resetUserHome(host, role);
    const t0 = Date.now();
    await project.deploy(driftSite());
    timing("drift: cold deploy of both stacks", Date.now() - t0);
  });
  afterAll(() => {
    for (const role of ROLES) resetUserHome(host, role);
    project.remove();
  });

  const drift = (args: string[] = [], extra: Record<string, string> = {}): RunResult =>
    run("npm", ["run", "--silent", "drift", "--", SITE_NAME, "dev", ...args], { cwd: REPO, env: project.env(extra), timeoutMs: 120_000 });

  test("in sync right after a deploy: exit 0, one SSH session per instance", () => {
    const since = sshLogOffset(host);
    const r = drift();
    timing("drift: npm run drift (both instances, in sync)", r.ms);
    console.info(r.output);
    expect(r.code, r.output).toBe(0);
    for (const role of ROLES) expect(r.stdout).toMatch(new RegExp(`^== ${role}-dev \\(.*\\)\\nin sync: deploy [0-9a-f]{16}$`, "m"));
    expect(r.stdout).toMatch(/testhost dev: in sync \(exit 0\)/);
    expect(countSshSessions(host, since).byUser).toEqual({ [host.users.jaws.name]: 1, [host.users.jtm.name]: 1 });
  });

  test("each kind of drift made by hand is named, exit 1; --json matches the documented schema", async () => {
    const jaws = instanceDir("jaws");
    const jtm = instanceDir("jtm");
    // jaws: an extra program added to the config and started by supervisorctl, a program stopped, the venv removed.
    const extra = `[program:extra]\ncommand=/bin/sh -c 'while true; do echo extra-by-hand; sleep 1; done'\n`;
    const added = runAsUser("jaws", `cat >> ${jaws}/supervisord.conf`, { input: extra });
    expect(added.code, added.output).toBe(0);
    const byHand = runAsUser(
      "jaws",
      `${jaws}/bin/supervisorctl update && ${jaws}/bin/supervisorctl stop jaws-dev:jaws-ticker && rm -rf ${jaws}/venv ${jaws}/venv-*`,
    );
    expect(byHand.code, byHand.output).toBe(0);
    await waitFor("the extra program running", () => processesMatching("jaws", "extra-by-hand").length === 1, 10_000);
    expect(processesMatching("jaws", "extra-by-hand")).toHaveLength(1);
    // jtm: a config line, a wrapper and the config file with the secret edited.
    const conf = hostFile("jtm", "supervisord.conf");
    expect(conf).toMatch(/\[program:jaws-worker\][^[]*startretries=3\n/);
    const edit = runAsUser(
      "jtm",
      `sed -i '/^\\[program:jaws-worker\\]/,/^\\[/ s/^startretries=3$/startretries=9/' ${jtm}/supervisord.conf && echo '# tuned by hand' >> ${jtm}/bin/jaws-worker.sh && sed -i 's/^password = .*/password = set-by-hand/' ${jtm}/config/db.conf`,
    );
    expect(edit.code, edit.output).toBe(0);

    const since = sshLogOffset(host);
    const r = drift();
    timing("drift: npm run drift (both instances, drifted)", r.ms);
    console.info(r.output);
    expect(r.code, r.output).toBe(1);
    const part = (role: string) => r.stdout.slice(r.stdout.indexOf(`== ${role}-dev`)).split("\n== ")[0];
    const jawsPart = part("jaws");
    expect(jawsPart).toMatch(/^DRIFT: \d+ difference\(s\)$/m);
    expect(jawsPart).toMatch(/config-section\s+\[program:extra\]: not in the code: edited on the host since the last deploy/);
    expect(jawsPart).toMatch(/program-undeclared\s+extra:extra: (RUNNING|STARTING), pid \d+: not declared by the code/);
    expect(jawsPart).toMatch(/program-not-running\s+jaws-dev:jaws-ticker: STOPPED/);
    expect(jawsPart).toMatch(/venv\s+venv: missing or broken/);
    expect(jawsPart).toMatch(
      /^fix: JAWS_SITES=testhost JAWS_DEPLOYMENT=dev JAWS_REDEPLOY=\$\(date \+%s\) npx cdktf deploy jaws-testhost --auto-approve$/m,
    );
    const jtmPart = part("jtm");
    expect(jtmPart).toMatch(/config-section\s+\[program:jaws-worker\]: differs: edited on the host since the last deploy/);
    expect(jtmPart).toMatch(/wrapper\s+bin\/jaws-worker\.sh: edited on the host since the last deploy/);
    expect(jtmPart).toContain(
      `config-file         ${jtm}/config/db.conf: edited on the host since the last deploy (its keyed fingerprint differs)`,
    );
    // Nothing else is reported for jtm: its programs run, its venv is there.
    expect(jtmPart.match(/^ {2}\S/gm)).toHaveLength(3);
    for (const text of [SECRET, "set-by-hand"]) expect(r.output).not.toContain(text);
    expect(r.stdout).toMatch(/^fix all: .* npx cdktf deploy jaws-testhost jtm-testhost --auto-approve$/m);
    expect(countSshSessions(host, since).sessions).toBe(2);

    const j = drift(["--json"]);
    expect(j.code, j.output).toBe(1);
    console.info(j.stdout);
    const report = JSON.parse(j.stdout);
    expect(shapeProblems(report, SCHEMA)).toEqual([]);
    const kinds = Object.fromEntries(
      report.instances.map((i: { instance: string; differences: { kind: string }[] }) => [
        i.instance,
        i.differences.map((d) => d.kind).sort(),
      ]),
    );
    expect(kinds).toEqual({
      "jaws-dev": ["config-section", "program-not-running", "program-undeclared", "venv"],
      "jtm-dev": ["config-file", "config-section", "wrapper"],
    });
    for (const text of [SECRET, "set-by-hand"]) expect(j.output).not.toContain(text);
  });

  test("host unreachable: exit 2, says so for each instance", async () => {
    const port = await freeStablePort();
    const elsewhere = project.setVariant(driftSite(), { ...host, port }, path.join(project.dir, "wrong-port.json"));
    const r = drift([], { JAWS_TEST_SITE: elsewhere });
    console.info(r.output);
    expect(r.code, r.output).toBe(2);
    for (const role of ROLES)
      expect(r.stdout).toMatch(
        new RegExp(`^== ${role}-dev .*\\nCANNOT TELL: cannot reach the host over SSH: .*(refused|port ${port})`, "m"),
      );
    const j = drift(["--json"], { JAWS_TEST_SITE: elsewhere });
    expect(j.code).toBe(2);
    expect(shapeProblems(JSON.parse(j.stdout), SCHEMA)).toEqual([]);
  });

  test("the printed fix brings the host back in sync (exit 0)", () => {
    const report = JSON.parse(drift(["--json"]).stdout);
    const fix = report.fix as string;
    const t0 = Date.now();
    // The command as printed, with the project's cdktf in place of `npx cdktf`.
    project.setVariant(driftSite());
    const r = run("bash", ["-c", fix.replace("npx cdktf", `${BIN}/cdktf`)], { cwd: project.dir, env: project.env(), timeoutMs: 400_000 });
    timing("drift: the printed fix (cdktf deploy of both stacks)", Date.now() - t0);
    expect(r.code, r.output).toBe(0);
    const after = drift();
    console.info(after.output);
    expect(after.code, after.output).toBe(0);
    expect(processesMatching("jaws", "extra-by-hand")).toHaveLength(0);
    expect(hostFile("jtm", "bin/jaws-worker.sh")).not.toContain("tuned by hand");
    expect(hostFile("jtm", "config/db.conf")).toBe(`[db]\npassword = ${SECRET}\n`);
  });
});
