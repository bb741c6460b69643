/**
 * A generated fleet for the direct-synth benchmark: BENCH_SERVICES services spread round-robin
 * over BENCH_INSTANCES supervisord instances, one stack per instance (as sites/stacks.ts does),
 * on BENCH_HOSTS hosts. Services look like the JAWS ones: a wrapper with a venv and an
 * environment, a few one-shots. Synthesizes into BENCH_OUTDIR (or cdktf's CDKTF_OUTDIR) and
 * prints one `BENCH_RESULT {json}` line: start-up (node + tsx + imports), construction, synth
 * times and the process's peak RSS (getrusage maxrss).
 */
import { App } from "cdktf";
import { JawsService, SupervisorInstance } from "../../constructs";
import { createStack } from "../../constructs/terraform";

const startupMs = performance.now();
const env = process.env;
const services = Number(env.BENCH_SERVICES ?? 10);
const instances = Number(env.BENCH_INSTANCES ?? 2);
const hosts = Number(env.BENCH_HOSTS ?? Math.max(1, Math.ceil(instances / 2)));
const resource = env.BENCH_RESOURCE === "null_resource" ? "null_resource" : "terraform_data";
// A syntactically valid ed25519 host key (never used to connect: synth only).
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0Hq0M2VdZ3bbqEo3DKpXlHl9sZpVZ9Xb+3Ad2b9h1C";

const app = new App(env.BENCH_OUTDIR ? { outdir: env.BENCH_OUTDIR } : {});
const insts: SupervisorInstance[] = [];
for (let i = 0; i < instances; i++) {
  const stack = createStack(app, `inst${i}`);
  insts.push(
    new SupervisorInstance(stack, "supervisor", {
      name: `inst${i}`,
      deployment: "dev",
      host: `node${i % hosts}.example.org`,
      user: `svc${i}`,
      hostKey: HOST_KEY,
      baseDirectory: `/global/cfs/projectdirs/bench/supervisor/svc${i}`,
      shellPreamble: ["module load python"],
      deployResource: resource,
    }),
  );
}
for (let s = 0; s < services; s++) {
  const i = s % instances;
  const instance = insts[i];
  const stack = instance.node.scope;
  if (!stack) throw new Error("instance without a stack");
  const install = `/global/cfs/projectdirs/bench/install/svc${i}`;
  const oneShot = s % 10 === 9;
  new JawsService(stack, `service-${s}`, {
    instance,
    command: oneShot
      ? [`${install}/bin/deploy-step`, "--service", String(s)]
      : ["jaws-site", "--config", `${install}/configs/service-${s}.conf`, "daemon", "--port", String(20000 + s)],
    oneShot,
    venv: `${install}/venv`,
    environment: { JAWS_SERVICE: `service-${s}`, JAWS_LOG_LEVEL: "info" },
    startretries: oneShot ? undefined : 10,
  });
}
const constructed = performance.now();
app.synth();
const synthesized = performance.now();
// What the hosts get that depends on the services: each instance's supervisord.conf and wrappers.
let renderedBytes = 0;
for (const inst of insts) {
  for (const f of inst.render().files) {
    if (f.path === "supervisord.conf" || /^bin\/.+\.sh$/.test(f.path)) renderedBytes += Buffer.byteLength(f.content);
  }
}
process.stdout.write(
  `BENCH_RESULT ${JSON.stringify({
    services,
    instances,
    startupMs,
    constructMs: constructed - startupMs,
    synthMs: synthesized - constructed,
    inProcessMs: synthesized - startupMs,
    maxRssKB: process.resourceUsage().maxRSS,
    renderedBytes,
  })}\n`,
);
