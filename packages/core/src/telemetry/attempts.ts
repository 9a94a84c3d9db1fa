import type { MeshCall } from "../call/call.ts";

/**
 * Retries are counted in the call's attributes, which every per-attempt fork shares
 * (forkCall copies the Map reference), so a step outside the retry step (the access log,
 * the tracing span) learns how many attempts the call took.
 */
const RETRIES = Symbol("weft.telemetry.retries");

/** Notes one more attempt of `call` (a retry or a hedge). Retry steps call this, or MeshMetrics.recordRetry. */
export function noteRetry(call: MeshCall): void {
  const n = call.attributes.get(RETRIES);
  call.attributes.set(RETRIES, typeof n === "number" ? n + 1 : 1);
}

/** Attempts the call took so far: 1 plus the retries noted, at least the attempt number seen. */
export function attemptsOf(call: MeshCall): number {
  const n = call.attributes.get(RETRIES);
  const noted = typeof n === "number" ? n + 1 : 1;
  return Math.max(noted, call.attempt);
}
