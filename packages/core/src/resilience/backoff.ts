import type { Backoff } from "../gen/weft/v1/policy_pb.js";
import { msFromDuration } from "./duration.ts";

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Envoy's defaults: 25 ms base, ten times the base at most. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 25, maxMs: 250 };

export function backoffOptionsFromProto(backoff: Backoff | undefined): BackoffOptions {
  const baseMs = msFromDuration(backoff?.base) ?? DEFAULT_BACKOFF.baseMs;
  const maxMs = msFromDuration(backoff?.max) ?? Math.max(baseMs * 10, baseMs);
  return { baseMs, maxMs };
}

/**
 * The pause before retry number `retry` (1 for the first retry): exponential with full
 * jitter (AWS's "full jitter"), uniform in [0, min(max, base * 2^(retry-1))), so callers
 * that failed together do not come back together.
 */
export function backoffDelay(retry: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** (retry - 1));
  return random() * ceiling;
}
