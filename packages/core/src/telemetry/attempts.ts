import type { MeshCall } from "../call/call.ts";
import { attemptsStarted } from "../resilience/attributes.ts";

/**
 * Attempts the call took so far. The retry and hedging steps count extra attempts in the
 * call's attributes, which every per-attempt fork shares, so steps outside them (metrics,
 * the access log, the tracing span) learn how many attempts the call took.
 */
export function attemptsOf(call: MeshCall): number {
  return Math.max(attemptsStarted(call.attributes), call.attempt);
}
