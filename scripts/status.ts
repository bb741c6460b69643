/**
 * Operators: every program of every instance of a site and deployment, with
 * state, PID and uptime (and each health probe's last result and age), read
 * over SSH with the instance's own key on the host.
 *
 *   npm run status -- <site> [deployment]        (deployment default: $JAWS_DEPLOYMENT or dev)
 *
 * Uses the site definition, JAWS_SSH_KEY_FILE / JAWS_SSH_CERT_FILE (or ssh-agent),
 * and the pinned host keys, exactly as a deploy does. Exit 0 when every instance
 * answered, 1 otherwise.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { sshTarget } from "../constructs";
import { readEnvironment } from "../sites/environment";
import { addSiteStacks } from "../sites/stacks";

export interface InstanceStatus {
  readonly instance: string;
  readonly ok: boolean;
  readonly text: string;
}

/** Status of each instance of a site and deployment (the other settings as for main.ts). */
export function siteStatus(siteName: string, deployment?: string, env: NodeJS.ProcessEnv = process.env): InstanceStatus[] {
  const { sites, selection } = readEnvironment({ ...env, JAWS_SITES: siteName, ...(deployment ? { JAWS_DEPLOYMENT: deployment } : {}) });
  const instances = sites.flatMap((site) => addSiteStacks(new App({ skipValidation: true }), site, selection));
  const tmp = mkdtempSync(join(tmpdir(), "jaws-status-"));
  try {
    return instances.map((inst) => {
      const m = inst.model();
      const label = `${m.name}-${m.deployment} (${m.ssh.user}@${m.ssh.host}:${m.ssh.port})`;
      const knownHostsFile = join(tmp, `${m.name}.known_hosts`);
      const target = sshTarget(m.ssh, knownHostsFile, (p) => p.replace(/^~\//, `${process.env.HOME}/`));
      writeFileSync(knownHostsFile, target.knownHosts);
      // The instance directory is validated (a safe path alphabet), so it needs no quoting.
      const [python] = inst.controlCommand;
      const remote = `if [ ! -x ${python} ]; then echo "nothing deployed in ${m.dir}" >&2; exit 3; fi; exec ${inst.controlCommand.join(" ")} status`;
      const r = spawnSync("ssh", [...target.args, remote], { encoding: "utf8", timeout: 60_000 });
      if (r.status === 0) return { instance: label, ok: true, text: r.stdout };
      const err = (r.stderr || r.error?.message || "").trim();
      if (r.status === 255 || r.error) return { instance: label, ok: false, text: `cannot reach the host over SSH: ${err}` };
      if (r.status === 3) return { instance: label, ok: false, text: err };
      if (/cannot reach supervisord/.test(err)) {
        // A Slurm-launched instance comes back with its job: the starter submits it (or run it now).
        const start =
          m.launcher.kind === "slurm"
            ? `its Slurm job ${m.launcher.jobName} is not running (squeue -n ${m.launcher.jobName}): the starter submits it at its next run, or run ${m.dir}/bin/starter`
            : `start it with ${inst.ensureScript}`;
        return { instance: label, ok: false, text: `supervisord is not running: ${start} (${err})` };
      }
      return { instance: label, ok: false, text: `status failed (exit ${r.status}): ${err}` };
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [site, deployment] = process.argv.slice(2);
  if (!site) {
    console.error("usage: npm run status -- <site> [deployment]");
    process.exit(2);
  }
  let failed = false;
  for (const s of siteStatus(site, deployment)) {
    console.log(`== ${s.instance}`);
    console.log(s.ok ? s.text.trimEnd() : `ERROR: ${s.text}`);
    failed ||= !s.ok;
  }
  process.exit(failed ? 1 : 0);
}
