export { HealthChecker, type HealthCheckerHooks, type Probe } from "./health-checker.ts";
export {
  type HealthCheckOptions,
  healthCheckOptionsFromProto,
  type ResolvedHealthCheckOptions,
  resolveHealthCheckOptions,
} from "./options.ts";
