export { type AccessLogOptions, type AccessRecord, accessLogPlugin } from "./access-log-plugin.ts";
export { attemptsOf } from "./attempts.ts";
export { RollingWindow, type RollingWindowOptions, type WindowStats } from "./latency-window.ts";
export {
  DURATION_BUCKETS,
  type EjectionEvent,
  MeshMetrics,
  type MeshMetricsOptions,
  noTelemetryHooks,
  type ServiceTraffic,
  type TelemetryHooks,
  type TrafficSnapshot,
} from "./mesh-metrics.ts";
export { type MetricsPluginOptions, metricsPlugin } from "./metrics-plugin.ts";
export {
  childTraceparent,
  FLAG_SAMPLED,
  formatTraceparent,
  isValidSpanId,
  isValidTraceId,
  parseTraceparent,
  randomSpanId,
  randomTraceId,
  TRACEPARENT,
  TRACESTATE,
  type TraceParent,
} from "./traceparent.ts";
export { type TracingOptions, tracingPlugin } from "./tracing-plugin.ts";
export { type TrafficReporterOptions, type TrafficStatInit, trafficReporter } from "./traffic-report.ts";
export { headersGetter, headersSetter, W3CTraceContextPropagator } from "./w3c-propagator.ts";
