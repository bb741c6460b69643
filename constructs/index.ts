/**
 * The public API of jaws-deploy: the constructs, their props, the problem type, and the stack
 * helpers an app needs. Everything else is internal.
 */

export { ConfigFile, type ConfigFileProps, type ConfigFormat, type SecretSourceProps } from "./config-file";
export type { CommandHealthCheck, HealthCheck, HealthCheckTiming, HttpHealthCheck, TcpHealthCheck } from "./health-check";
export { JawsService, type JawsServiceOptions, type JawsServiceProps } from "./jaws-service";
export type { InstanceModel, SshSettings } from "./model/instance";
export type { AutoRestart, ByteSize, Deployment, DeployResourceKind, LogLevel, SignalName } from "./model/values";
export { PythonRelease, type PythonReleaseProps } from "./python-release";
export { type SshTarget, sshTarget } from "./render/ssh-command";
export { type Problem, ValidationError } from "./rules/problem";
export { type GitlabProject, STATE_BACKEND_KINDS, type StateBackend, type StateBackendKind, stateBackendFor } from "./state-backend";
export { type DirectoryProps, type PreflightEndpoint, SupervisorInstance, type SupervisorInstanceProps } from "./supervisor-instance";
export { createStack } from "./terraform";
