/**
 * The public API of jaws-deploy: two constructs, their props, the problem type, and the stack
 * helpers an app needs. Everything else is internal.
 */
export type { CommandHealthCheck, HealthCheck, HealthCheckTiming, HttpHealthCheck, TcpHealthCheck } from "./health-check";
export { JawsService, type JawsServiceOptions, type JawsServiceProps } from "./jaws-service";
export type { InstanceModel } from "./model/instance";
export type { AutoRestart, ByteSize, Deployment, DeployResourceKind, LogLevel, SignalName } from "./model/values";
export { type Problem, ValidationError } from "./rules/problem";
export { type GitlabProject, STATE_BACKEND_KINDS, type StateBackend, type StateBackendKind, stateBackendFor } from "./state-backend";
export { type DirectoryProps, type PreflightEndpoint, SupervisorInstance, type SupervisorInstanceProps } from "./supervisor-instance";
export { createStack } from "./terraform";
