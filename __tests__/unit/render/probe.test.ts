/** render/probe.ts and its use in render-instance.ts: the manifest entry, the probe wrapper, the fingerprint, the trigger. */
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { type HealthCheck, JawsService, SupervisorInstance } from "../../../constructs";
import { renderInstance } from "../../../constructs/render/render-instance";
import { BASE_OPTIONS, model, resourceOf } from "../../support/fixtures";

const serve = { command: ["/srv/app/serve"], environment: { TOKEN: "x" }, directory: "/srv/app" };
const render = (healthCheck?: HealthCheck, extra: object = {}) => renderInstance(model({}, { p: { ...serve, healthCheck, ...extra } }));
const entry = (r: ReturnType<typeof render>) => r.manifest.programs[0];

describe("probes in what the host gets", () => {
  it("no probe: the program's manifest entry and files are what they were before probes existed", () => {
    const r = render();
    expect(Object.keys(entry(r)).sort()).toEqual(["autostart", "exitcodes", "fingerprint", "name", "oneShot", "processes"]);
    expect(r.files.map((f) => f.path).filter((p) => p.includes("@probe"))).toEqual([]);
    expect(r.files.find((f) => f.path === "bin/ensure")?.content).not.toContain("probe-ensure");
  });

  it("each kind with its defaults, as jawsctl reads it", () => {
    const timing = { intervalSeconds: 5, timeoutSeconds: 3, successes: 1, failures: 3 };
    expect(entry(render({ tcp: 8080 })).probe).toEqual({ kind: "tcp", host: "127.0.0.1", port: 8080, ...timing });
    expect(entry(render({ http: "http://127.0.0.1:8080/health", expectStatus: 204, bodyMatch: "ok" })).probe).toEqual({
      kind: "http",
      url: "http://127.0.0.1:8080/health",
      expectStatus: [204],
      bodyMatch: "ok",
      ...timing,
    });
    const r = render({ command: ["check", "--deep"], intervalSeconds: 2 }, { restartOnProbeFailures: 3 });
    expect(entry(r)).toMatchObject({
      probe: { kind: "command", wrapper: "/srv/jaws/jaws-dev/bin/p@probe.sh", directory: "/srv/app", intervalSeconds: 2 },
      restartOnProbeFailures: 3,
    });
    // The probe wrapper is the program's wrapper with the probe's argv.
    const wrapper = r.files.find((f) => f.path === "bin/p@probe.sh");
    expect(wrapper?.mode).toBe("0700");
    expect(wrapper?.content).toBe((r.wrappers.get("p") as string).replace("exec /srv/app/serve", "exec check --deep"));
    expect(r.files.find((f) => f.path === "bin/ensure")?.content).toContain('ctl probe-ensure --manifest "$RECORD"');
  });

  it("a probe change changes the program's fingerprint (it restarts), and only that program's", () => {
    const two = (port: number) =>
      renderInstance(model({}, { p: { ...serve, healthCheck: { tcp: port } }, q: { command: ["/srv/app/other"] } })).manifest.programs;
    const [a, b] = [two(8080), two(8081)];
    expect(a[0].fingerprint).not.toBe(b[0].fingerprint);
    expect(a[1].fingerprint).toBe(b[1].fingerprint);
    // restartOnProbeFailures is ensure's business: no restart for it.
    expect(entry(render({ tcp: 1 }, { restartOnProbeFailures: 2 })).fingerprint).toBe(entry(render({ tcp: 1 })).fingerprint);
  });

  it("the probe is a readable trigger of the deploy (cdktf diff shows a change)", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const instance = new SupervisorInstance(stack, "supervisor", BASE_OPTIONS);
    new JawsService(stack, "p", { instance, ...serve, healthCheck: { http: "http://127.0.0.1:8080/${x}", bodyMatch: "100%" } });
    const triggers = resourceOf(JSON.parse(Testing.synth(stack))).triggers as Record<string, string>;
    expect(JSON.parse(triggers["probe:p"].replaceAll("$${", "${"))).toMatchObject({
      kind: "http",
      url: "http://127.0.0.1:8080/${x}",
      bodyMatch: "100%",
    });
  });
});
