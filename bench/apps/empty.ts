/**
 * `empty.ts [RESOURCE]`, the baseline app: one stack, one null_resource (or a plain terraform_data,
 * for `terraform plan` offline), nothing of jaws-deploy. The benchmark also copies it to `main.ts`
 * of a temp project so that `cdktf synth` runs it exactly the way it runs the project's own
 * main.ts. Given a RESOURCE, it prints one `BENCH_RESULT {json}` line, as apps/fleet.ts does.
 */
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Resource } from "@cdktf/provider-null/lib/resource";
import { App, TerraformResource, TerraformStack } from "cdktf";

const t0 = performance.now();
const app = new App();
const stack = new TerraformStack(app, "empty");
if (process.argv[2] === "terraform_data") {
  new TerraformResource(stack, "r", { terraformResourceType: "terraform_data" }).addOverride("triggers_replace", { a: "b" });
} else {
  new NullProvider(stack, "null");
  new Resource(stack, "r", { triggers: { a: "b" } });
}
const t1 = performance.now();
app.synth();
const report = { constructMs: t1 - t0, synthMs: performance.now() - t1, maxRssKB: process.resourceUsage().maxRSS };
if (process.argv[2]) process.stdout.write(`BENCH_RESULT ${JSON.stringify(report)}\n`);
