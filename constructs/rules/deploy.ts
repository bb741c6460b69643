import { Checks, type InstanceRule } from "./checks";
import { describe } from "./problem";

/** How deploys run: health gate and lock timeouts, the redeploy token, the Terraform resource. */
export const deployRule: InstanceRule = (m) => {
  const c = new Checks(m.path);
  c.int("healthTimeoutSeconds", m.healthTimeoutSeconds, 1, 3600);
  c.int("lockTimeoutSeconds", m.lockTimeoutSeconds, 0, 86400);
  if (m.redeployToken !== undefined) {
    c.check(/^[A-Za-z0-9_.:+-]{1,64}$/.test(m.redeployToken), "redeployToken", "must be 1-64 letters, digits or _.:+-");
  }
  c.check(
    /^[0-9*/,-]+( [0-9*/,-]+){4}$/.test(m.ensureCronSchedule),
    "ensureCronSchedule",
    `${describe(m.ensureCronSchedule)} must be five crontab fields of digits and * / , - (e.g. "*/5 * * * *")`,
  );
  c.check(
    m.deployResource === "null_resource" || m.deployResource === "terraform_data",
    "deployResource",
    "must be null_resource or terraform_data",
  );
  return c.problems;
};
