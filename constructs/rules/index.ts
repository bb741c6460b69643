/**
 * Validation as data: one rule per supervisord key family, each a pure function of the resolved
 * model (as cdk-nag keeps one rule per file). Every problem is reported at once.
 */
import type { InstanceModel } from "../model/instance";
import type { InstanceRule, ServiceRule } from "./checks";
import { configFilesRule } from "./config-files";
import { controlRule } from "./control";
import { deployRule } from "./deploy";
import { directoriesRule } from "./directories";
import { directoriesNeededRule } from "./directories-needed";
import { fileNamesRule } from "./file-names";
import { groupRule } from "./group";
import { healthCheckRule } from "./health-check";
import { identityRule } from "./identity";
import { includesRule } from "./includes";
import { inputRule } from "./input";
import { launcherRule } from "./launcher";
import { preflightRule } from "./preflight";
import { type Problem, ValidationError } from "./problem";
import { programCommandRule } from "./program-command";
import { programEnvironmentRule } from "./program-environment";
import { programLogsRule } from "./program-logs";
import { programProcessRule } from "./program-process";
import { pythonRule } from "./python";
import { releasesRule } from "./releases";
import { sshRule } from "./ssh";
import { supervisordSectionRule } from "./supervisord-section";

export const INSTANCE_RULES: readonly InstanceRule[] = [
  inputRule,
  identityRule,
  sshRule,
  directoriesRule,
  pythonRule,
  controlRule,
  launcherRule,
  supervisordSectionRule,
  groupRule,
  deployRule,
  fileNamesRule,
  directoriesNeededRule,
  includesRule,
  preflightRule,
  releasesRule,
  configFilesRule,
];
export const SERVICE_RULES: readonly ServiceRule[] = [
  programCommandRule,
  programProcessRule,
  programLogsRule,
  programEnvironmentRule,
  healthCheckRule,
];

export function validateInstance(m: InstanceModel): Problem[] {
  return [...INSTANCE_RULES.flatMap((rule) => rule(m)), ...m.services.flatMap((s) => SERVICE_RULES.flatMap((rule) => rule(s, m)))];
}

/** Validates and throws every problem at once: for use without constructs. */
export function assertValid(m: InstanceModel): InstanceModel {
  const problems = validateInstance(m);
  if (problems.length > 0) throw new ValidationError(problems);
  return m;
}

export { hostConflicts } from "./host-conflicts";
export { formatProblem, type Problem, ValidationError } from "./problem";
export { instanceWarnings } from "./warnings";
