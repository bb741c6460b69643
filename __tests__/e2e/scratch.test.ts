import { afterAll, describe, expect, test } from "vitest";
import { resetUserHome } from "../host/test-host";
import { useTestHost } from "../host/use-test-host";
import { baseline } from "./support/model";
import { E2eProject, pids, processStates } from "./support/project";

const { info, skipReason } = useTestHost();
describe.skipIf(!info)(`scratch (${skipReason ?? "real host"})`, () => {
  const host = info!;
  resetUserHome(host, "jaws");
  resetUserHome(host, "jtm");
  const p = new E2eProject(host);
  afterAll(() => console.log(p.dir));
  test("cold", () => {
    const rs = p.deploy(baseline());
    for (const r of rs) console.log(r.ms, r.output);
    console.log(pids(host, "jaws"), processStates(host, "jtm"));
    const r2 = p.deploy(baseline());
    for (const r of r2) console.log(r.ms, r.output);
    expect(1).toBe(1);
  });
});
