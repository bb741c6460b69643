import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { JawsService, SupervisorInstance, type SupervisorInstanceProps } from "../../constructs";
import { configSections } from "../../constructs/render/render-instance";
import { cori } from "../../sites/cori";
import { addSiteStacks, type StackSelection } from "../../sites/stacks";
import { automationEnv } from "../../testkit/commands";
import { BASE_OPTIONS, deployBundle, type Json, resourceOf, secretsScript, synthStacks } from "../support/fixtures";

/** Cori's stacks; `options` go to every instance (as a site's SiteInstance.options would). */
const coriWith = (options: Partial<SupervisorInstanceProps>) => ({ ...cori, instances: cori.instances.map((i) => ({ ...i, options })) });
const synthCori = (sel: Partial<StackSelection> = {}, options: Partial<SupervisorInstanceProps> = {}): Record<string, Json> =>
  synthStacks((app) => addSiteStacks(app, coriWith(options), { deployment: "dev", ...sel }));

describe("the default Cori stacks", () => {
  const stacks = synthCori();

  it("are jaws-cori and jtm-cori", () => {
    expect(Object.keys(stacks)).toEqual(["jaws-cori", "jtm-cori"]);
  });

  it.each(["jaws-cori", "jtm-cori"])("%s matches its snapshot (the bundle decoded, so a review reads its lines)", (id) => {
    const stack = structuredClone(stacks[id]);
    const deploy = resourceOf(stack);
    const bundle = deployBundle(deploy);
    deploy.provisioner[0]["remote-exec"].inline = ['${base64decode("<the bundle below, in base64>")}'];
    const secrets = Object.entries(stack.resource.null_resource as Json).find(([k]) => k.startsWith("supervisor_config_secrets_"))?.[1];
    const send = secrets && secretsScript(secrets);
    if (secrets) secrets.provisioner[0]["local-exec"].command = '${base64decode("<the send script below, in base64>")}';
    expect(stack).toMatchSnapshot();
    expect(bundle).toMatchSnapshot();
    if (send) expect(send).toMatchSnapshot();
  });

  it("jaws-cori sends jaws-site.conf's secrets from CI variables named per site and deployment, before the deploy", () => {
    const secrets = resourceOf(stacks["jaws-cori"], "null_resource", "config_secrets");
    // Synth without the fingerprint key (no CI job): nothing compared, nothing of a value.
    expect(secrets.triggers).toEqual({ secrets: "not compared at synth: JAWS_SECRETS_FINGERPRINT_KEY is not set" });
    expect(secrets.lifecycle).toEqual({ ignore_changes: ["triggers"] });
    const script = secretsScript(secrets);
    for (const v of ["DB_PASSWORD", "RMQ_PASSWORD", "SITE_RMQ_PASSWORD", "GLOBUS_CLIENT_SECRET"]) {
      expect(script).toContain(`check_env JAWS_SECRET_CORI_DEV_${v}\n`);
    }
    expect(script).toContain("jaws@cori20.nersc.gov");
    const deploy = resourceOf(stacks["jaws-cori"]);
    expect(deploy.lifecycle).toEqual({ replace_triggered_by: [expect.stringMatching(/^null_resource\.supervisor_config_secrets_/)] });
    const conf = deploy.triggers["config:/global/cfs/projectdirs/jaws/jaws-install/jaws-dev/configs/jaws-site.conf"];
    expect(conf).toContain("[LOCAL_RPC_SERVER]\nuser = jaws\npassword = @@JAWS_SECRET(site_rmq_password)@@\n");
    expect(conf).toContain("db = jaws_cori_dev\n");
    expect(deploy.triggers["release:jaws_site"]).toBe("2.6.0");
  });

  it("hold a deploy and an instance null_resource, with an SSH connection pinned to the host key", () => {
    for (const [id, user] of [
      ["jaws-cori", "jaws"],
      ["jtm-cori", "jaws_jtm"],
    ]) {
      const r = resourceOf(stacks[id]);
      expect(r.triggers).toMatchObject({ host: "cori20.nersc.gov", port: "22", user });
      expect(r.triggers.host_key).toMatch(/^ssh-rsa AAAA/);
      expect(r.connection).toMatchObject({
        type: "ssh",
        host: "${self.triggers.host}",
        user: "${self.triggers.user}",
        host_key: "${self.triggers.host_key}",
        agent: "true",
      });
      expect(r.connection.private_key).toBeUndefined();
      // jaws-cori has a config file with secrets: the resource that sends them is the third.
      expect(Object.keys(stacks[id].resource.null_resource)).toHaveLength(id === "jaws-cori" ? 3 : 2);
      expect(resourceOf(stacks[id], "null_resource", "instance").connection).toEqual(r.connection);
      expect(stacks[id].provider.null).toBeDefined();
    }
  });

  it("run the bundle as the deploy's only provisioner (one SSH session); a separate, stable resource stops the instance on destroy using only self", () => {
    const r = resourceOf(stacks["jaws-cori"]);
    expect(r.provisioner).toHaveLength(1);
    const bundle = deployBundle(r);
    expect(bundle).toMatch(/^#!\/bin\/bash\n# Deploy bundle of supervisord instance jaws-dev/);
    // Decoded by Terraform, not read as a template: the host gets the bundle byte for byte.
    expect(bundle).toContain("${LOCK_TIMEOUT}");
    expect(r.depends_on).toEqual([
      expect.stringMatching(/^null_resource\.supervisor_instance_/),
      expect.stringMatching(/^null_resource\.supervisor_config_secrets_/),
    ]);
    const inst = resourceOf(stacks["jaws-cori"], "null_resource", "instance");
    expect(inst.provisioner).toEqual([{ "remote-exec": { when: "destroy", inline: ["${self.triggers.destroy_script}"] } }]);
    expect(Object.keys(inst.triggers).sort()).toEqual(["destroy_script", "host", "host_key", "instance_dir", "port", "user"]);
    // Deploys never change it: it does not depend on the programs.
    const other = synthCori({}, { healthTimeoutSeconds: 30 });
    expect(resourceOf(other["jaws-cori"], "null_resource", "instance").triggers).toEqual(inst.triggers);
  });

  it("carry exactly the bundle the instance renders", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const instance = new SupervisorInstance(stack, "supervisor", BASE_OPTIONS);
    new JawsService(stack, "p", { instance, command: ["/bin/echo", "${HOME}", "%{x}", "$${y}"], environment: { A: "${B} %{ if c }" } });
    const json = JSON.parse(Testing.synth(stack, true));
    expect(deployBundle(resourceOf(json))).toBe(instance.render().bundle);
    // Triggers are read as templates: every ${ and %{ is escaped there.
    const t = resourceOf(json).triggers;
    expect(t["file:bin/p.sh"]).toContain("'$${HOME}' '%%{x}' '$$${y}'");
    expect(t["file:bin/p.sh"]).toContain("A='$${B} %%{ if c }'");
    // The config's sections, one trigger each, put together in the config's order are the config.
    const conf = instance.render().supervisordConf;
    const asHostReads = (v: string) => v.replaceAll("$${", "${").replaceAll("%%{", "%{");
    const keys = Object.keys(t).filter((k) => k.startsWith("file:supervisord.conf"));
    const ordered = [...configSections(conf).keys()].map((s) => (s === "" ? "file:supervisord.conf" : `file:supervisord.conf[${s}]`));
    expect(keys.sort()).toEqual([...ordered].sort());
    expect(ordered.map((k) => asHostReads(t[k])).join("")).toBe(conf);
  });

  it("trigger on the rendered content: config sections and wrappers readable, plus a deploy id", () => {
    const t = resourceOf(stacks["jtm-cori"]).triggers;
    expect(Object.keys(t).sort()).toEqual([
      "deploy_id",
      "file:bin/jaws-cromwell.sh",
      "file:bin/jaws-jtm.sh",
      "file:supervisord.conf",
      "file:supervisord.conf[group:jaws-dev]",
      "file:supervisord.conf[include]",
      "file:supervisord.conf[inet_http_server]",
      "file:supervisord.conf[program:jaws-cromwell]",
      "file:supervisord.conf[program:jaws-jtm]",
      "file:supervisord.conf[rpcinterface:jawsdeploy]",
      "file:supervisord.conf[rpcinterface:supervisor]",
      "file:supervisord.conf[supervisorctl]",
      "file:supervisord.conf[supervisord]",
      "host",
      "host_key",
      "instance_dir",
      "port",
      "release:jaws_jtm",
      "user",
    ]);
    expect(t["release:jaws_jtm"]).toBe("2.6.0");
    expect(t["file:supervisord.conf"]).toMatch(/^; supervisord instance jtm-dev \(jaws_jtm@cori20\.nersc\.gov\)\n/);
    expect(t["file:supervisord.conf[program:jaws-cromwell]"]).toMatch(
      /^\[program:jaws-cromwell\]\n[^[]*priority=9\n[^[]*stopwaitsecs=120\n/,
    );
    expect(t["file:supervisord.conf[program:jaws-jtm]"]).toMatch(/^\[program:jaws-jtm\]\n[^[]*priority=1\n/);
    expect(t["file:supervisord.conf[group:jaws-dev]"]).toMatch(/^\[group:jaws-dev\]\nprograms=jaws-jtm,jaws-cromwell\npriority=999\n/);
    expect(t["file:bin/jaws-cromwell.sh"]).toContain("-Djava.io.tmpdir=/global/cscratch1/sd/jaws_jtm/jaws-dev/cromwell-tmp");
  });

  it("re-run the deploy, not the instance, for a new redeploy token", () => {
    const again = synthCori({ redeployToken: "2026-11-27" });
    expect(resourceOf(again["jaws-cori"]).triggers.redeploy).toBe("2026-11-27");
    expect(resourceOf(stacks["jaws-cori"]).triggers.redeploy).toBeUndefined();
    expect(resourceOf(again["jaws-cori"], "null_resource", "instance")).toEqual(
      resourceOf(stacks["jaws-cori"], "null_resource", "instance"),
    );
  });

  it("escape every ${ and %{ meant for the host", () => {
    const json = JSON.stringify(stacks);
    const unescaped = [...json.matchAll(/(?<!\$)\$\{(?!self\.triggers\.|file\(|base64decode\(\\"[A-Za-z0-9+/=]*\\"\)\}|TfToken)/g)];
    expect(unescaped).toEqual([]);
    expect(json).not.toMatch(/(?<!%)%\{/);
  });

  it("keep state per deployment at a relative path", () => {
    expect(stacks["jaws-cori"].terraform.backend.local.path).toBe("../../../state/dev/terraform.jaws-cori.tfstate");
    const prod = synthCori({ deployment: "prod" });
    expect(prod["jaws-cori"].terraform.backend.local.path).toBe("../../../state/prod/terraform.jaws-cori.tfstate");
    expect(resourceOf(prod["jaws-cori"]).triggers.instance_dir).toBe(
      "/global/cfs/projectdirs/jaws/jaws-install/jaws-supervisord-prod/jaws-prod",
    );
    expect(resourceOf(prod["jtm-cori"]).triggers["file:bin/jaws-cromwell.sh"]).toContain(
      "-Djava.io.tmpdir=/global/cscratch1/sd/jaws_jtm/jaws-prod/cromwell-tmp",
    );
  });

  it("have outputs a person can paste", () => {
    const outputs = Object.values(stacks["jaws-cori"].output as Json).map((o) => o.value);
    expect(outputs).toContain(
      "ssh jaws@cori20.nersc.gov /global/cfs/projectdirs/jaws/jaws-install/jaws-supervisord-dev/jaws-dev/bin/supervisorctl status",
    );
    expect(outputs).toContain(
      "ssh jaws@cori20.nersc.gov /global/cfs/projectdirs/jaws/jaws-install/jaws-supervisord-dev/jaws-dev/bin/supervisorctl stop 'jaws-dev:*'",
    );
  });

  it("read the SSH key and certificate from files at deploy time, never embedding them", () => {
    const s = synthCori({ privateKeyFile: "~/.ssh/jaws_ed25519", certificateFile: "~/.ssh/jaws_ed25519-cert.pub" });
    const c = resourceOf(s["jaws-cori"]).connection;
    expect(c.private_key).toBe('${file(pathexpand("~/.ssh/jaws_ed25519"))}');
    expect(c.certificate).toBe('${file(pathexpand("~/.ssh/jaws_ed25519-cert.pub"))}');
    expect(c.agent).toBe("false");
  });

  it("switch to terraform_data, with the same connection and provisioners", () => {
    const s = synthCori({ deployResource: "terraform_data" });
    const r = resourceOf(s["jaws-cori"], "terraform_data");
    expect(s["jaws-cori"].resource.null_resource).toBeUndefined();
    expect(s["jaws-cori"].provider).toBeUndefined();
    // terraform_data needs Terraform >= 1.4: Terraform checks it at init (no `terraform version` run at synth).
    expect(s["jaws-cori"].terraform.required_version).toBe(">= 1.4");
    // With null_resource, the secrets' replace_triggered_by needs Terraform >= 1.2.
    expect(stacks["jaws-cori"].terraform.required_version).toBe(">= 1.2");
    expect(stacks["jtm-cori"].terraform.required_version).toBeUndefined();
    expect(r.connection.host).toBe("${self.triggers_replace.host}");
    expect(resourceOf(s["jaws-cori"], "terraform_data", "instance").provisioner[0]["remote-exec"].inline).toEqual([
      "${self.triggers_replace.destroy_script}",
    ]);
    expect(r.triggers_replace.deploy_id).toBe(resourceOf(stacks["jaws-cori"]).triggers.deploy_id);
  });

  it("carry no machine path, version or timestamp", () => {
    const json = JSON.stringify(stacks);
    expect(json).not.toContain(process.cwd());
    expect(json).not.toMatch(/\/(work|root|tmp)\//);
    expect(json).not.toMatch(/0\.21\.\d|\d{4}-\d{2}-\d{2}T/);
  });
});

describe("synth-time errors", () => {
  it("name the construct path and the field, and stop the synth", () => {
    const app = Testing.app();
    addSiteStacks(app, { ...cori, host: "cori 20" }, { deployment: "dev" });
    expect(() => app.synth()).toThrow(/\[jaws-cori\/supervisor\] host: "cori 20" is not a host name/);
  });

  it("catch two instances on one socket across stacks", () => {
    const app = Testing.app();
    addSiteStacks(app, coriWith({ inetPort: undefined, socketFile: "/global/cfs/projectdirs/jaws/shared.sock" }), { deployment: "dev" });
    expect(() => app.synth()).toThrow(/\[jtm-cori\/supervisor\] socketFile: .* is already used by jaws-cori\/supervisor/);
  });

  it("an unknown deployment is refused", () => {
    expect(() => addSiteStacks(new App(), cori, { deployment: "qa" })).toThrow(/unknown deployment "qa"/);
  });
});

describe("terraform validate (real Terraform)", () => {
  it("accepts the terraform_data variant of both stacks", () => {
    const dir = mkdtempSync(join(tmpdir(), "jaws-validate-"));
    try {
      // Terraform reads the key file when it validates: any file will do here.
      const key = join(dir, "id_test");
      writeFileSync(key, "not a real key\n");
      const app = new App({ outdir: dir });
      addSiteStacks(app, cori, { deployment: "dev", deployResource: "terraform_data", privateKeyFile: key });
      app.synth();
      const rc = join(dir, "terraform.rc");
      writeFileSync(rc, "");
      const env = automationEnv(rc);
      for (const stack of ["jaws-cori", "jtm-cori"]) {
        const cwd = join(dir, "stacks", stack);
        const init = spawnSync("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd, env, encoding: "utf8" });
        expect(init.status, init.stderr).toBe(0);
        const v = spawnSync("terraform", ["validate", "-no-color"], { cwd, env, encoding: "utf8" });
        expect(v.status, v.stdout + v.stderr).toBe(0);
        expect(v.stdout).toContain("Success! The configuration is valid.");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
