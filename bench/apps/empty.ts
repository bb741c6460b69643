/**
 * The baseline app: one stack, one null_resource (or terraform_data with
 * BENCH_EMPTY_RESOURCE=terraform_data, for `terraform plan` offline), nothing of jaws-deploy.
 * The benchmark copies it to `main.ts` of a temp project so that `cdktf synth` runs it exactly
 * the way it runs the project's own main.ts (same cdktf.json, same `npx tsx main.ts`).
 */
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Resource } from "@cdktf/provider-null/lib/resource";
import { App, DataResource, TerraformStack } from "cdktf";

const t0 = performance.now();
const app = new App();
const stack = new TerraformStack(app, "empty");
if (process.env.BENCH_EMPTY_RESOURCE === "terraform_data") {
  new DataResource(stack, "r", { triggersReplace: { a: "b" } });
} else {
  new NullProvider(stack, "null");
  new Resource(stack, "r", { triggers: { a: "b" } });
}
const t1 = performance.now();
app.synth();
const t2 = performance.now();
if (process.env.BENCH_REPORT) {
  process.stdout.write(
    `BENCH_RESULT ${JSON.stringify({ startupMs: t0, constructMs: t1 - t0, synthMs: t2 - t1, maxRssKB: process.resourceUsage().maxRSS })}\n`,
  );
}
