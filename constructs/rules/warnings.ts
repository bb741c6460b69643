import type { InstanceModel } from "../model/instance";
import type { Problem } from "./problem";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** Allowed, but worth a human's attention at every synth. */
export function instanceWarnings(m: InstanceModel): Problem[] {
  const w: Problem[] = [];
  if (m.ssh.insecureSkipHostKeyCheck) {
    w.push({
      path: m.path,
      field: "insecureSkipHostKeyCheck",
      message: "the SSH host key is not checked: a man in the middle could receive the deploy",
    });
  }
  // The Slurm launcher's endpoint is on the node's address by design (README: "The Slurm launcher").
  if (m.control.kind === "inet" && m.launcher.kind !== "slurm" && !LOOPBACK.test(m.control.host)) {
    w.push({
      path: m.path,
      field: "inetHost",
      message: `supervisord's HTTP server listens on ${m.control.host}, reachable from other machines; prefer the unix socket or 127.0.0.1`,
    });
  }
  return w;
}
