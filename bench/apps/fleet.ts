/**
 * `fleet.ts RESOURCE SERVICES INSTANCES`: a generated fleet for the direct-synth benchmark, SERVICES
 * services spread round-robin over INSTANCES supervisord instances, two instances per host, each
 * host a site (data) fed to the app's stack builder: one stack per instance. Services look like the
 * JAWS ones: a wrapper with a venv and an environment, every tenth a one-shot. RESOURCE:
 * null_resource (main.ts's default) or terraform_data. Synthesizes into CDKTF_OUTDIR and prints one
 * `BENCH_RESULT {json}` line: construction and synth times, and the process's peak RSS (maxrss).
 */
import { App } from "cdktf";
import type { JawsServiceOptions } from "../../constructs";
import { jawsDeployments } from "../../sites/ports";
import { addSiteStacks } from "../../sites/stacks";

const t0 = performance.now();
const [resource, services, instances] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const hosts = Math.ceil(instances / 2);
const root = "/global/cfs/projectdirs/bench";
// A syntactically valid ed25519 host key (synth only: never used to connect).
const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0Hq0M2VdZ3bbqEo3DKpXlHl9sZpVZ9Xb+3Ad2b9h1C";

/** The services of instance `i`: every `instances`-th one, from the `i`-th. */
function servicesOf(i: number, install: string): Record<string, JawsServiceOptions> {
  const out: Record<string, JawsServiceOptions> = {};
  for (let s = i; s < services; s += instances) {
    const oneShot = s % 10 === 9;
    out[`service-${s}`] = {
      command: oneShot
        ? [`${install}/bin/deploy-step`, "--service", String(s)]
        : ["jaws-site", "--config", `${install}/configs/service-${s}.conf`, "daemon", "--port", String(20000 + s)],
      oneShot,
      venv: `${install}/venv`,
      environment: { JAWS_SERVICE: `service-${s}`, JAWS_LOG_LEVEL: "info" },
      startretries: oneShot ? undefined : 10,
    };
  }
  return out;
}

const app = new App();
for (let h = 0; h < hosts; h++) {
  const onHost = Array.from({ length: instances }, (_, i) => i).filter((i) => i % hosts === h);
  const site = {
    name: `node${h}`,
    host: `node${h}.example.org`,
    hostKey,
    shellPreamble: ["module load python"],
    deployments: jawsDeployments((d) => `${root}/jaws-${d}`),
    instances: onHost.map((i) => ({
      name: `inst${i}`,
      user: `svc${i}`,
      baseDirectory: `${root}/supervisor/svc${i}`,
      services: () => servicesOf(i, `${root}/install/svc${i}`),
    })),
  };
  addSiteStacks(app, site, {
    deployment: "dev",
    deployResource: resource === "terraform_data" ? "terraform_data" : "null_resource",
  });
}
const t1 = performance.now();
app.synth();
const report = { constructMs: t1 - t0, synthMs: performance.now() - t1, maxRssKB: process.resourceUsage().maxRSS };
process.stdout.write(`BENCH_RESULT ${JSON.stringify(report)}\n`);
