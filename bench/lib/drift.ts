/**
 * Part drift: `npm run drift` of the test site deployed on the local test host, for one instance
 * (`--stack=jaws-testhost`) and for all of them (both instances, one SSH session each, at once),
 * next to `terraform plan` of the same stacks (one stack; both stacks at once), which is what
 * Terraform offers to see a host and which cannot see it. Then the same after a wrapper edited on
 * the host: the differences drift names against the changes plan finds.
 */
import { run } from "../../testkit/commands";
import { Project, REPO } from "../../testkit/project";
import { ROLES, runAsUser } from "../../testkit/test-host";
import { instanceDir, SITE_NAME, siteBaseline, stackName } from "../../testkit/test-site";
import { withTestHost } from "./host";
import type { PartResult } from "./synth";
import { log, type Row, row } from "./table";

export async function benchDrift(repeats: number): Promise<PartResult> {
  log("== drift: local test host");
  if (process.getuid?.() !== 0) return { rows: [], details: {}, skipped: "not root: the test host needs root (users, sshd)" };
  return withTestHost(async ({ info, onCleanup }) => {
    const project = new Project(info, { viaApp: true });
    onCleanup(() => project.remove());
    log("  deploying the test site (untimed)");
    await project.deploy(siteBaseline());
    const drift = (...args: string[]) => {
      const r = run("npm", ["run", "--silent", "drift", "--", SITE_NAME, "dev", ...args], {
        cwd: REPO,
        env: project.env(),
        timeoutMs: 180_000,
      });
      if (r.code > 1) throw new Error(`drift failed (exit ${r.code}): ${r.output}`);
      return r;
    };
    const plan = async (roles: readonly (typeof ROLES)[number][]) => {
      const t0 = Date.now();
      const rs = await Promise.all(roles.map((role) => project.startTerraform(role, ["plan", "-detailed-exitcode", "-input=false"]).done));
      for (const r of rs) if (r.code === 1) throw new Error(`terraform plan failed: ${r.output}`);
      return { ms: Date.now() - t0, changes: rs.filter((r) => r.code === 2).length };
    };
    await plan(ROLES); // untimed: init
    const one: number[] = [];
    const all: number[] = [];
    const planOne: number[] = [];
    const planAll: number[] = [];
    for (let i = 0; i < repeats; i++) {
      log(`  round ${i + 1}/${repeats}`);
      one.push(drift(`--stack=${stackName("jaws")}`).ms);
      all.push(drift().ms);
      planOne.push((await plan(["jaws"])).ms);
      planAll.push((await plan(ROLES)).ms);
    }
    log("  a wrapper edited on the host: what each sees");
    const edit = runAsUser("jaws", `echo '# tuned by hand' >> ${instanceDir("jaws")}/bin/jaws-ticker.sh`);
    if (edit.code !== 0) throw new Error(edit.output);
    const seen = JSON.parse(drift("--json").stdout) as { instances: { differences: unknown[] }[] };
    const found = seen.instances.reduce((n, i) => n + i.differences.length, 0);
    const planned = (await plan(ROLES)).changes;
    const rows: Row[] = [
      row("drift", "drift check, one instance (npm run drift --stack)", "s", one, [planOne, "terraform plan, that stack"]),
      row("drift", `drift check, all ${ROLES.length} instances of the site`, "s", all, [planAll, "terraform plan, both stacks at once"]),
      row(
        "drift",
        "differences seen after a wrapper edit on the host",
        "n",
        found,
        [planned, "stacks terraform plan would change"],
        [">= 1 (plan: 0)", (o, b) => o >= 1 && b === 0],
      ),
    ];
    return {
      rows,
      details: { one, all, planOne, planAll, found, planned, stdin: "expectation sent over the one SSH session per instance" },
    };
  });
}
