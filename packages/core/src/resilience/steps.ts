import type { Place } from "../call/call.ts";
import { filterStep, type Interceptor, type Step } from "../chain/chain.ts";
import { type Plugin, type PluginContext, runsIn } from "../chain/plugin.ts";
import type {
  CircuitBreaker,
  FaultInjection,
  HedgingPolicy,
  RateLimit,
  RetryPolicy,
  TimeoutPolicy,
} from "../gen/weft/v1/policy_pb.js";
import {
  circuitBreakerInterceptor,
  circuitBreakerOptionsFromProto,
  circuitBreakerPlugin,
} from "./circuit-breaker.ts";
import { faultConfigured, faultInterceptor, faultOptionsFromProto, faultPlugin } from "./fault.ts";
import { hedgingInterceptor, hedgingOptionsFromProto, hedgingPlugin } from "./hedging.ts";
import { perTryTimeoutFilter, perTryTimeoutPlugin } from "./per-try-timeout.ts";
import { rateLimitFilter, rateLimitOptionsFromProto, rateLimitPlugin } from "./rate-limit.ts";
import { type ResilienceState, sharedResilienceState } from "./resilience-state.ts";
import { retryFilter, retryInterceptor, retryOptionsFromProto, retryPlugin } from "./retry.ts";
import { timeoutFilter, timeoutOptionsFromProto, timeoutPlugin } from "./timeout.ts";

/** What a step is besides its name: an interceptor, and maybe its phased form. */
type StepBody = Omit<Step, "name">;

/** The resilience policies of a call (a subset of routing's EffectivePolicies). */
export interface ResiliencePolicies {
  timeout?: TimeoutPolicy | undefined;
  retry?: RetryPolicy | undefined;
  hedging?: HedgingPolicy | undefined;
  fault?: FaultInjection | undefined;
  circuitBreaker?: CircuitBreaker | undefined;
  rateLimit?: RateLimit | undefined;
}

export interface ResilienceStepsOptions {
  /** Budgets, limits and buckets shared across chains; the clock's shared state by default. */
  state?: ResilienceState;
  /** Random source for backoff jitter and fault draws (tests). */
  random?: () => number;
  /**
   * Honour and forward a deadline the caller sent even when no request timeout is set
   * (default true): a mesh that drops `grpc-timeout` makes callees work for callers gone.
   * With false and no request timeout, the timeout step is left out.
   */
  propagateDeadlines?: boolean;
}

/**
 * The resilience steps for a set of policies, only those configured and only those that
 * run at `ctx.place`, in order: timeout -> fault -> rate limit -> retry or hedging ->
 * circuit breaker -> per-try timeout. A policy left unset costs nothing per call.
 */
export function resilienceSteps(
  policies: ResiliencePolicies,
  ctx: PluginContext,
  options: ResilienceStepsOptions = {},
): Plugin[] {
  const state = options.state ?? sharedResilienceState(ctx.clock);
  const random = options.random;
  const steps: Plugin[] = [];
  const add = (name: string, places: readonly Place[] | undefined, make: () => Interceptor | StepBody) => {
    if (!runsIn({ places }, ctx.place)) return;
    const made = make();
    steps.push(typeof made === "function" ? { name, places, interceptor: made } : { ...made, name, places });
  };

  const retry = policies.retry ? { ...retryOptionsFromProto(policies.retry), random, state } : undefined;
  const retries = retry !== undefined && retry.attempts > 1;
  const hedges = policies.hedging !== undefined && policies.hedging.maxAttempts > 1;
  const perTryMs = retry?.perTryTimeoutMs;
  const perTry = perTryMs !== undefined && perTryMs > 0;
  // The retry step (when it is not a hedging fallback) and the per-try timeout write the
  // time remaining into every attempt's headers, so the timeout step need not.
  const attemptsWriteHeaders =
    (retries && !hedges && runsIn(retryPlugin, ctx.place)) ||
    (perTry && runsIn(perTryTimeoutPlugin, ctx.place));

  const timeout = { ...timeoutOptionsFromProto(policies.timeout), attemptsWriteHeaders };
  if (timeout.requestMs !== undefined || options.propagateDeadlines !== false) {
    add(timeoutPlugin.name, timeoutPlugin.places, () =>
      filterStep(timeoutFilter(timeout, ctx), ctx.place, timeoutPlugin.name),
    );
  }

  if (policies.fault) {
    const fault = { ...faultOptionsFromProto(policies.fault), random };
    if (faultConfigured(fault)) add(faultPlugin.name, faultPlugin.places, () => faultInterceptor(fault, ctx));
  }

  if (policies.rateLimit && policies.rateLimit.requestsPerSecond > 0) {
    const limit = { ...rateLimitOptionsFromProto(policies.rateLimit), state };
    add(rateLimitPlugin.name, rateLimitPlugin.places, () =>
      filterStep(rateLimitFilter(limit, ctx), ctx.place, rateLimitPlugin.name),
    );
  }

  if (policies.hedging && hedges) {
    const hedging = {
      ...hedgingOptionsFromProto(policies.hedging),
      retryOn: retry?.retryOn,
      budget: retry?.budget,
      state,
    };
    // Calls that may not be hedged are still retried by the route's retry policy.
    const fallback = retries && retry ? retryInterceptor(retry, ctx) : undefined;
    add(hedgingPlugin.name, hedgingPlugin.places, () => hedgingInterceptor({ ...hedging, fallback }, ctx));
  } else if (retries && retry) {
    add(retryPlugin.name, retryPlugin.places, () =>
      filterStep(retryFilter(retry, ctx), ctx.place, retryPlugin.name),
    );
  }

  if (policies.circuitBreaker && policies.circuitBreaker.maxConcurrentRequests > 0) {
    const breaker = { ...circuitBreakerOptionsFromProto(policies.circuitBreaker), state };
    add(circuitBreakerPlugin.name, circuitBreakerPlugin.places, () =>
      circuitBreakerInterceptor(breaker, ctx),
    );
  }

  if (perTryMs !== undefined && perTry) {
    add(perTryTimeoutPlugin.name, perTryTimeoutPlugin.places, () =>
      filterStep(perTryTimeoutFilter({ perTryMs }, ctx), ctx.place, perTryTimeoutPlugin.name),
    );
  }
  return steps;
}
