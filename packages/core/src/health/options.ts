import type { Duration } from "@bufbuild/protobuf/wkt";
import type { HealthCheck } from "../gen/weft/v1/policy_pb.js";

/** Active health checking as plain options. */
export interface HealthCheckOptions {
  /** Time between the end of one check of an endpoint and the start of the next. */
  readonly intervalMs: number;
  /** A probe that has not answered by then has failed (and its signal is aborted). */
  readonly timeoutMs: number;
  /** Successes in a row that make an unhealthy endpoint healthy (default 1). */
  readonly healthyThreshold?: number;
  /** Failures in a row that make a healthy endpoint unhealthy (default 3). */
  readonly unhealthyThreshold?: number;
  /**
   * Extra random delay up to this many ms added to each interval (default 0). The first check
   * of an endpoint always starts at a random point of the first interval, so that data planes
   * started together do not probe in lockstep.
   */
  readonly intervalJitterMs?: number;
}

export interface ResolvedHealthCheckOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly intervalJitterMs: number;
}

/** Defaults filled in and values checked; an Error names the bad option. */
export function resolveHealthCheckOptions(o: HealthCheckOptions): ResolvedHealthCheckOptions {
  const r = {
    intervalMs: o.intervalMs,
    timeoutMs: o.timeoutMs,
    healthyThreshold: o.healthyThreshold ?? 1,
    unhealthyThreshold: o.unhealthyThreshold ?? 3,
    intervalJitterMs: o.intervalJitterMs ?? 0,
  };
  if (!(r.intervalMs > 0)) throw new Error(`health check intervalMs must be > 0, got ${r.intervalMs}`);
  if (!(r.timeoutMs > 0)) throw new Error(`health check timeoutMs must be > 0, got ${r.timeoutMs}`);
  if (!(r.healthyThreshold >= 1))
    throw new Error(`health check healthyThreshold must be >= 1, got ${r.healthyThreshold}`);
  if (!(r.unhealthyThreshold >= 1)) {
    throw new Error(`health check unhealthyThreshold must be >= 1, got ${r.unhealthyThreshold}`);
  }
  if (!(r.intervalJitterMs >= 0))
    throw new Error(`health check intervalJitterMs must be >= 0, got ${r.intervalJitterMs}`);
  return r;
}

/**
 * Options from a `HealthCheck` message (its probe oneof is for the transport that builds the
 * probe function). Thresholds of 0 mean the defaults (proto3 cannot tell unset from 0).
 */
export function healthCheckOptionsFromProto(m: HealthCheck): HealthCheckOptions {
  return {
    intervalMs: ms(m.interval, "interval"),
    timeoutMs: ms(m.timeout, "timeout"),
    healthyThreshold: m.healthyThreshold || undefined,
    unhealthyThreshold: m.unhealthyThreshold || undefined,
  };
}

function ms(d: Duration | undefined, field: string): number {
  if (!d) throw new Error(`HealthCheck.${field} is required`);
  return Number(d.seconds) * 1000 + d.nanos / 1e6;
}
