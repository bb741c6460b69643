/**
 * The cdktf app of an e2e project (cdktf.json: `"app": "tsx .../app.ts"`), for the tests that go
 * through the cdktf CLI the way CI does. Reads the test host and the model variant from
 * `e2e-model.json` in the project directory (cdktf runs the app there).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import type { TestHostInfo } from "../../host/test-host";
import { addTestStacks, type ModelVariant } from "./model";

const { info, variant } = JSON.parse(readFileSync(join(process.cwd(), "e2e-model.json"), "utf8")) as {
  info: TestHostInfo;
  variant: ModelVariant;
};
const app = new App();
addTestStacks(app, info, variant);
app.synth();
