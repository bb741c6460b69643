/**
 * The baseline app: one stack, one null_resource (or terraform_data with
 * BENCH_EMPTY_RESOURCE=terraform_data, for `terraform plan` offline), nothing of jaws-deploy.
 * The benchmark copies it to `main.ts` of a temp project so that `cdktf synth` runs it exactly
 * the way it runs the project's own main.ts (same cdktf.json, same app command). Its terraform_data
 * is a plain resource, as the library emits it (cdktf's DataResource runs `terraform version`).
 */
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Resource } from "@cdktf/provider-null/lib/resource";
import { App, TerraformResource, TerraformStack } from "cdktf";

const t0 = performance.now();
const app = new App();
const stack = new TerraformStack(app, "empty");
if (process.env.BENCH_EMPTY_RESOURCE === "terraform_data") {
  new TerraformResource(stack, "r", { terraformResourceType: "terraform_data" }).addOverride("triggers_replace", { a: "b" });
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
