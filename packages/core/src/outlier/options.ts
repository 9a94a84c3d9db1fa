import type { Duration } from "@bufbuild/protobuf/wkt";
import type { OutlierDetection } from "../gen/weft/v1/policy_pb.js";

/** Outlier detection as plain options; every field has Envoy's default. */
export interface OutlierOptions {
  /** Failures in a row that eject an endpoint (default 5; 0 turns this check off). */
  readonly consecutiveFailures?: number;
  /** First ejection lasts this long; the n-th lasts n times as long (default 30 s). */
  readonly baseEjectionMs?: number;
  /** Cap on an ejection (default 300 s, and never below the base). */
  readonly maxEjectionMs?: number;
  /** At most this percent of endpoints ejected at once (default 10; one may always be ejected). */
  readonly maxEjectionPercent?: number;
  /** How often success rates are compared and the ejection multiplier relaxes (default 10 s). */
  readonly intervalMs?: number;
  /** Success-rate ejection below mean - factor * stdev (default 1.9; 0 turns it off). */
  readonly successRateStdevFactor?: number;
  /** Success rates are compared only among at least this many endpoints (default 5). */
  readonly successRateMinimumHosts?: number;
  /** An endpoint counts for success rate with at least this many calls in the interval (default 100). */
  readonly successRateRequestVolume?: number;
}

export interface ResolvedOutlierOptions {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly intervalMs: number;
  readonly successRateStdevFactor: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
}

/** Defaults filled in and values checked; an Error names the bad option. */
export function resolveOutlierOptions(o: OutlierOptions): ResolvedOutlierOptions {
  const r = {
    consecutiveFailures: o.consecutiveFailures ?? 5,
    baseEjectionMs: o.baseEjectionMs ?? 30_000,
    maxEjectionMs: o.maxEjectionMs ?? 300_000,
    maxEjectionPercent: o.maxEjectionPercent ?? 10,
    intervalMs: o.intervalMs ?? 10_000,
    successRateStdevFactor: o.successRateStdevFactor ?? 1.9,
    successRateMinimumHosts: o.successRateMinimumHosts ?? 5,
    successRateRequestVolume: o.successRateRequestVolume ?? 100,
  };
  for (const [name, value] of Object.entries(r)) {
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new Error(`outlier detection ${name} must be a finite number >= 0, got ${value}`);
    }
  }
  if (r.maxEjectionPercent > 100) {
    throw new Error(
      `outlier detection maxEjectionPercent must be within 0..100, got ${r.maxEjectionPercent}`,
    );
  }
  if (r.intervalMs === 0) throw new Error("outlier detection intervalMs must be > 0");
  if (r.baseEjectionMs === 0) throw new Error("outlier detection baseEjectionMs must be > 0");
  return r;
}

/**
 * Options from an `OutlierDetection` message. Proto3 cannot tell an unset number from 0, so
 * 0 (or an unset duration) means the default, as in Envoy's configuration.
 */
export function outlierOptionsFromProto(m: OutlierDetection): OutlierOptions {
  return {
    consecutiveFailures: m.consecutiveFailures || undefined,
    baseEjectionMs: positiveMs(m.baseEjectionTime),
    maxEjectionMs: positiveMs(m.maxEjectionTime),
    maxEjectionPercent: m.maxEjectionPercent || undefined,
    intervalMs: positiveMs(m.interval),
    successRateStdevFactor: m.successRateStdevFactor || undefined,
    successRateMinimumHosts: m.successRateMinimumHosts || undefined,
    successRateRequestVolume: m.successRateRequestVolume || undefined,
  };
}

function positiveMs(d: Duration | undefined): number | undefined {
  if (!d) return undefined;
  const ms = Number(d.seconds) * 1000 + d.nanos / 1e6;
  return ms > 0 ? ms : undefined;
}
