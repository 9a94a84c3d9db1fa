import { Code } from "@connectrpc/connect";
import type { MeshCall } from "../call/call.ts";
import { filterStep, type Interceptor, interceptorOf } from "../chain/chain.ts";
import type { Filter } from "../chain/filter.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { type RateLimit, RateLimitSchema } from "../gen/weft/v1/policy_pb.js";
import { policyFromJson } from "./plugin-options.ts";
import { PerService, type ResilienceState, sharedResilienceState } from "./resilience-state.ts";
import type { TokenBucket, TokenBucketOptions } from "./token-bucket.ts";

export interface RateLimitOptions extends TokenBucketOptions {
  state?: ResilienceState;
}

export function rateLimitOptionsFromProto(policy: RateLimit): RateLimitOptions {
  return { requestsPerSecond: policy.requestsPerSecond, burst: policy.burst };
}

/**
 * A local rate limit: a token bucket per service in this data plane (every route to the
 * service shares it). A call finding the bucket empty fails at once with
 * ResourceExhausted, marked neverSent, naming the limit and when a token comes back.
 */
export function rateLimitFilter(options: RateLimitOptions, ctx: PluginContext): Filter {
  const bucketOptions: TokenBucketOptions = {
    requestsPerSecond: options.requestsPerSecond,
    burst: options.burst,
  };
  if (!(bucketOptions.requestsPerSecond > 0)) {
    throw new Error(`rate limit requests_per_second must be > 0, got ${bucketOptions.requestsPerSecond}`);
  }
  const state = options.state ?? sharedResilienceState(ctx.clock);
  const buckets = new PerService<TokenBucket>(ctx.place, (key) => state.bucket(key, bucketOptions));
  const place = ctx.place;
  // A request phase only: a call that gets a token passes untouched.
  const open = (call: MeshCall): undefined => {
    const bucket = buckets.for(call);
    if (bucket.tryTake()) return undefined;
    throw new MeshError(
      Code.ResourceExhausted,
      `rate limit of ${bucketOptions.requestsPerSecond} requests/s (burst ${bucket.burst}) exceeded for ${call.service}; next token in ${bucket.msUntilToken()}ms`,
      { place, plugin: "rate-limit", policy: call.route ?? "" },
      { neverSent: true },
    );
  };
  return { bind: () => open };
}

/** The rate limit as an interceptor (see rateLimitFilter). */
export function rateLimitInterceptor(options: RateLimitOptions, ctx: PluginContext): Interceptor {
  return interceptorOf(rateLimitFilter(options, ctx), ctx.place, "rate-limit");
}

export const rateLimitPlugin = definePlugin<RateLimitOptions>({
  name: "rate-limit",
  parseOptions: (raw) => rateLimitOptionsFromProto(policyFromJson("rate-limit", RateLimitSchema, raw)),
  create: (options, ctx) => filterStep(rateLimitFilter(options, ctx), ctx.place, "rate-limit"),
});
