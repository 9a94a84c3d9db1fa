import { create } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import {
  backoffOptionsFromProto,
  balancerOptionsFromProto,
  DEFAULT_RETRY_ON,
  hedgingOptionsFromProto,
  outlierOptionsFromProto,
  resolveOutlierOptions,
  retryOptionsFromProto,
} from "@weft/core";
import {
  type CircuitBreaker,
  type FaultInjection,
  type HealthCheck,
  type HedgingPolicy,
  type LoadBalancer,
  LoadBalancerSchema,
  type OutlierDetection,
  type PluginRef,
  type RateLimit,
  RetryOn,
  type RetryPolicy,
  type TimeoutPolicy,
} from "@weft/core/model";

// Each function states a policy as the data plane will apply it: through core's own
// *FromProto functions, so defaults filled in there (backoff, outlier detection, panic
// threshold) show as the values in force, not as zeros.

/** `250ms`, `2s`, `1m30s`, `2h`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const unit = ms < 3_600_000 ? 60_000 : 3_600_000;
  const whole = Math.floor(ms / unit);
  const rest = ms - whole * unit;
  return `${whole}${unit === 60_000 ? "m" : "h"}${rest >= 1000 ? formatMs(rest) : ""}`;
}

function durationMs(d: Duration | undefined): number | undefined {
  return d ? Number(d.seconds) * 1000 + d.nanos / 1e6 : undefined;
}

export function describeTimeout(t: TimeoutPolicy): string {
  const request = durationMs(t.request);
  const idle = durationMs(t.idle);
  const parts = [
    request ? `request ${formatMs(request)}` : "no request timeout (deadlines callers send apply)",
  ];
  if (idle) parts.push(`idle ${formatMs(idle)}`);
  return parts.join(", ");
}

export function retryOnNames(values: readonly RetryOn[]): string {
  const list = values.length > 0 ? values : DEFAULT_RETRY_ON;
  return list.map((v) => (RetryOn[v] ?? String(v)).replace("RETRY_ON_", "").toLowerCase()).join(",");
}

export function describeRetry(r: RetryPolicy): string {
  const o = retryOptionsFromProto(r);
  const backoff = backoffOptionsFromProto(r.backoff);
  const parts = [
    `attempts ${o.attempts}`,
    `on ${retryOnNames(r.retryOn)}${r.retryOn.length === 0 ? " (default)" : ""}`,
    `backoff ${formatMs(backoff.baseMs)}..${formatMs(backoff.maxMs)}`,
  ];
  if (o.perTryTimeoutMs) parts.push(`per try ${formatMs(o.perTryTimeoutMs)}`);
  if (o.budget)
    parts.push(
      `budget ${Number((o.budget.ratio * 100).toFixed(2))}% + ${o.budget.minRetriesPerSecond}/s over ${formatMs(o.budget.windowMs)}`,
    );
  if (o.retryNonIdempotent) parts.push("non-idempotent calls too");
  return parts.join(", ");
}

export function describeHedging(h: HedgingPolicy): string {
  const o = hedgingOptionsFromProto(h);
  return `up to ${o.maxAttempts} attempts, next after ${formatMs(o.delayMs)} (idempotent calls only)`;
}

export function describeFault(f: FaultInjection): string {
  const parts: string[] = [];
  const delay = durationMs(f.delay);
  if (delay && f.delayPercent > 0) parts.push(`delay ${formatMs(delay)} on ${f.delayPercent}% of calls`);
  if (f.abortHttpStatus && f.abortPercent > 0)
    parts.push(`fail ${f.abortPercent}% of calls with HTTP ${f.abortHttpStatus}`);
  return parts.join(", ") || "configured but injects nothing (percentages are 0)";
}

export function describeCircuitBreaker(c: CircuitBreaker): string {
  if (c.maxConcurrentRequests === 0) return "off (max concurrent requests is 0)";
  return `at most ${c.maxConcurrentRequests} concurrent requests, ${c.maxPendingRequests} waiting`;
}

export function describeRateLimit(r: RateLimit): string {
  return `${r.requestsPerSecond} requests/s, burst ${r.burst || r.requestsPerSecond}`;
}

export function describeBalancer(lb: LoadBalancer | undefined): string {
  // No LoadBalancer message at all is the same as an empty one: core's default algorithm.
  const o = balancerOptionsFromProto(lb ?? create(LoadBalancerSchema));
  const parts: string[] = [o.algorithm ?? "p2c_peak_ewma"];
  if (o.hashHeader) parts.push(`hash on header ${o.hashHeader}`);
  if (o.zoneAware) parts.push("zone-aware");
  if (o.panicThresholdPercent) parts.push(`panic below ${o.panicThresholdPercent}% healthy`);
  return parts.join(", ");
}

export function describeOutlierDetection(od: OutlierDetection): string {
  const o = resolveOutlierOptions(outlierOptionsFromProto(od));
  const parts = [];
  if (o.consecutiveFailures > 0) parts.push(`eject after ${o.consecutiveFailures} failures in a row`);
  if (o.successRateStdevFactor > 0)
    parts.push(`or a success rate ${o.successRateStdevFactor} stdev below the mean`);
  parts.push(
    `for ${formatMs(o.baseEjectionMs)}..${formatMs(o.maxEjectionMs)}, at most ${o.maxEjectionPercent}% ejected, every ${formatMs(o.intervalMs)}`,
  );
  return parts.join(" ");
}

export function describeHealthCheck(h: HealthCheck): string {
  const probe =
    h.probe.case === "httpPath"
      ? `HTTP GET ${h.probe.value}`
      : h.probe.case === "grpcService"
        ? `gRPC health ${h.probe.value || "(server)"}`
        : h.probe.case === "tcp"
          ? "TCP connect"
          : "no probe";
  const interval = durationMs(h.interval);
  return `${probe}${interval ? ` every ${formatMs(interval)}` : ""}`;
}

export function describePlugin(p: PluginRef): string {
  const options =
    p.options !== undefined && p.options !== null && Object.keys(p.options).length > 0
      ? ` ${JSON.stringify(p.options)}`
      : "";
  return `${p.module}${p.export ? `#${p.export}` : ""}${options}`;
}
