import { Code } from "@connectrpc/connect";
import { type MeshCall, type MeshResponse, type Place, whenSettled } from "../call/call.ts";
import type { Handler, Interceptor } from "../chain/chain.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import { asMeshError, MeshError } from "../errors/mesh-error.ts";
import { type CircuitBreaker, CircuitBreakerSchema } from "../gen/weft/v1/policy_pb.js";
import type { ConcurrencyLimit, ConcurrencyLimitOptions } from "./concurrency-limit.ts";
import { policyFromJson } from "./plugin-options.ts";
import { PerService, type ResilienceState, sharedResilienceState } from "./resilience-state.ts";

export interface CircuitBreakerOptions extends ConcurrencyLimitOptions {
  state?: ResilienceState;
}

export function circuitBreakerOptionsFromProto(policy: CircuitBreaker): CircuitBreakerOptions {
  return { maxConcurrent: policy.maxConcurrentRequests, maxPending: policy.maxPendingRequests };
}

/**
 * Caps the load on a destination service (Envoy's circuit breaker thresholds): at most
 * `maxConcurrent` requests in flight, shared by every route to it, and at most
 * `maxPending` waiting in order for a slot. Beyond that a call fails at once with
 * Unavailable, marked neverSent since it never left. A slot is held until the response
 * has settled, so a stream counts for as long as it runs.
 */
export function circuitBreakerInterceptor(options: CircuitBreakerOptions, ctx: PluginContext): Interceptor {
  const limitOptions: ConcurrencyLimitOptions = {
    maxConcurrent: options.maxConcurrent,
    maxPending: options.maxPending,
  };
  const state = options.state ?? sharedResilienceState(ctx.clock);
  const limits = new PerService<ConcurrencyLimit>(ctx.place, (key) => state.limit(key, limitOptions));
  const place = ctx.place;
  return (next: Handler): Handler =>
    (call: MeshCall): Promise<MeshResponse> => {
      const limit = limits.for(call);
      if (limit.tryAcquire()) return holding(limit, next, call);
      if (limit.canWait()) {
        return limit.wait(call.signal).then(
          () => holding(limit, next, call),
          (reason: unknown) => {
            throw asMeshError(reason, { place, plugin: "circuit-breaker", policy: call.route ?? "" });
          },
        );
      }
      return Promise.reject(open(limit, call, place));
    };
}

function holding(limit: ConcurrencyLimit, next: Handler, call: MeshCall): Promise<MeshResponse> {
  let sent: Promise<MeshResponse>;
  try {
    sent = next(call);
  } catch (err) {
    limit.release();
    return Promise.reject(err);
  }
  return sent.then(
    (res) => {
      whenSettled(res, limit.release, limit.release);
      return res;
    },
    (err: unknown) => {
      limit.release();
      throw err;
    },
  );
}

function open(limit: ConcurrencyLimit, call: MeshCall, place: Place): MeshError {
  const pending = limit.maxPending > 0 ? ` and ${limit.pending} waiting (max ${limit.maxPending})` : "";
  return new MeshError(
    Code.Unavailable,
    `circuit open: ${limit.inFlight} requests in flight to ${call.service} (max ${limit.maxConcurrent})${pending}`,
    { place, plugin: "circuit-breaker", policy: call.route ?? "" },
    { neverSent: true },
  );
}

export const circuitBreakerPlugin = definePlugin<CircuitBreakerOptions>({
  name: "circuit-breaker",
  places: ["client", "sidecar-outbound"],
  parseOptions: (raw) =>
    circuitBreakerOptionsFromProto(policyFromJson("circuit-breaker", CircuitBreakerSchema, raw)),
  create: (options, ctx) => circuitBreakerInterceptor(options, ctx),
});
