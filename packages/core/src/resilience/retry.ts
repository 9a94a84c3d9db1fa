import { forkCall, type MeshCall, type MeshResponse, type Place, releaseWhenSettled } from "../call/call.ts";
import type { Cancellation } from "../call/cancellation.ts";
import { filterStep, type Handler, type Interceptor, interceptorOf } from "../chain/chain.ts";
import type { Exchange, Filter } from "../chain/filter.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import { type Clock, sleep } from "../clock/clock.ts";
import { asMeshError, type MeshError } from "../errors/mesh-error.ts";
import { type RetryOn, type RetryPolicy, RetryPolicySchema } from "../gen/weft/v1/policy_pb.js";
import { RETRY_BUDGET_EXHAUSTED, RETRY_COUNT } from "./attributes.ts";
import { type BackoffOptions, backoffDelay, backoffOptionsFromProto, DEFAULT_BACKOFF } from "./backoff.ts";
import { writeDeadlineHeaders } from "./deadline-headers.ts";
import { msFromDuration } from "./duration.ts";
import { LastFailure } from "./last-failure.ts";
import { policyFromJson } from "./plugin-options.ts";
import { PerService, type ResilienceState, sharedResilienceState } from "./resilience-state.ts";
import type { RetryBudgetOptions, RetryBudgetWindow } from "./retry-budget.ts";
import { retryBudgetOptionsFromProto } from "./retry-budget.ts";
import { RetryConditions } from "./retry-on.ts";

export interface RetryOptions {
  /** Total attempts, the first included; 1 means no retry. */
  attempts: number;
  /** Per-try timeout; applied by the per-try timeout step, carried here as the proto has it. */
  perTryTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Conditions to retry on; empty means connect failure, refused stream, unavailable, reset. */
  retryOn?: readonly RetryOn[];
  /** Shared per destination service; no budget means only `attempts` limits retries. */
  budget?: RetryBudgetOptions;
  /** Retry calls that are not idempotent even when they may have reached the server. */
  retryNonIdempotent?: boolean;
  /** Uniform in [0, 1); Math.random unless a test injects one. */
  random?: () => number;
  /** Where the budget lives; the clock's shared state unless given. */
  state?: ResilienceState;
}

export function retryOptionsFromProto(policy: RetryPolicy): RetryOptions {
  return {
    attempts: Math.max(1, policy.attempts),
    perTryTimeoutMs: msFromDuration(policy.perTryTimeout),
    backoff: backoffOptionsFromProto(policy.backoff),
    retryOn: policy.retryOn,
    budget: policy.budget ? retryBudgetOptionsFromProto(policy.budget) : undefined,
    retryNonIdempotent: policy.retryNonIdempotent,
  };
}

/**
 * Retries failed attempts: each attempt is a fork of the call with its own child of the
 * call's cancellation, separated by exponential backoff with full jitter on the
 * injected clock, within the attempts, the retry budget of the destination service and the
 * call's deadline. A call that is not idempotent is retried only when the failure proves
 * the request never left (or the policy says so); a body that cannot be replayed never is.
 * When retrying stops, the last failure is what the caller gets: the error, or the failure
 * response as it came.
 */
export function retryFilter(options: RetryOptions, ctx: PluginContext): Filter {
  const policy = new RetryPolicyState(options, ctx);
  return { bind: (below) => new Retrier(policy, below).open };
}

/** The retry step as an interceptor (see retryFilter). */
export function retryInterceptor(options: RetryOptions, ctx: PluginContext): Interceptor {
  return interceptorOf(retryFilter(options, ctx), ctx.place, "retry");
}

/** What a retry step decides by, made once per step. */
class RetryPolicyState {
  readonly attempts: number;
  readonly backoff: BackoffOptions;
  readonly conditions: RetryConditions;
  readonly random: () => number;
  readonly retryNonIdempotent: boolean;
  readonly clock: Clock;
  readonly place: Place;
  readonly budgets: PerService<RetryBudgetWindow> | undefined;

  constructor(options: RetryOptions, ctx: PluginContext) {
    this.attempts = Math.max(1, Math.floor(options.attempts));
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.conditions = new RetryConditions(options.retryOn ?? []);
    this.random = options.random ?? Math.random;
    this.retryNonIdempotent = options.retryNonIdempotent ?? false;
    this.clock = ctx.clock;
    this.place = ctx.place;
    const budgetOptions = options.budget;
    const state = options.state ?? sharedResilienceState(ctx.clock);
    this.budgets = budgetOptions
      ? new PerService<RetryBudgetWindow>(ctx.place, (key) => state.budget(key, budgetOptions))
      : undefined;
  }

  fault(err: unknown, call: MeshCall): MeshError {
    return asMeshError(err, { place: this.place, plugin: "retry", policy: call.route ?? "" });
  }
}

/** The retry step bound over the steps below it, which every attempt goes through. */
class Retrier {
  readonly policy: RetryPolicyState;
  readonly #below: Handler;

  constructor(policy: RetryPolicyState, below: Handler) {
    this.policy = policy;
    this.#below = below;
  }

  readonly open = (call: MeshCall): RetryExchange | undefined => {
    const { attempts, clock, budgets } = this.policy;
    const now = call.startedAt ?? clock.now();
    if (attempts === 1 || !call.body.replayable) {
      if (call.deadline !== undefined) writeDeadlineHeaders(call.headers, call.deadline - now);
      return undefined;
    }
    const budget = budgets?.for(call);
    budget?.recordRequest(now);
    // The first attempt shares the call's headers instead of copying them (a microsecond):
    // the steps inside write only the deadline headers, which every later attempt rewrites
    // on its copy.
    const link = call.cancellation.child();
    const first = forkCall(call, { attempt: 1, cancellation: link, shareHeaders: true });
    if (call.deadline !== undefined) writeDeadlineHeaders(first.headers, call.deadline - now);
    return new RetryExchange(this, call, first, link, budget);
  };

  /** After attempt `failed` failed: decides whether to go on, then runs the next attempts. */
  async again(
    call: MeshCall,
    budget: RetryBudgetWindow | undefined,
    failure: LastFailure,
    failed: number,
  ): Promise<MeshResponse> {
    const { attempts, backoff, conditions, random, clock } = this.policy;
    const mayResend = call.idempotent || this.policy.retryNonIdempotent;
    for (let attempt = failed; ; attempt++) {
      if (attempt > failed) {
        const link = call.cancellation.child();
        const now = clock.now();
        const attemptCall = forkCall(call, { attempt, cancellation: link, startedAt: now });
        if (call.deadline !== undefined) writeDeadlineHeaders(attemptCall.headers, call.deadline - now);
        call.attributes.set(RETRY_COUNT, attempt - 1);
        try {
          const res = await this.#below(attemptCall);
          if (!conditions.response(res)) {
            failure.drop();
            releaseWhenSettled(res, link);
            return res;
          }
          failure.answeredWith(res, link);
        } catch (err) {
          link.release();
          const e = this.policy.fault(err, call);
          if (!conditions.error(e)) {
            failure.drop();
            throw e;
          }
          failure.failedWith(e);
        }
      }

      if (attempt >= attempts) return failure.giveUp(undefined);
      if (!mayResend && !failure.neverSent) return failure.giveUp(undefined);
      if (call.cancellation.aborted) {
        failure.drop();
        throw this.policy.fault(call.cancellation.reason, call);
      }
      const delay = backoffDelay(attempt, backoff, random);
      // A retry that cannot start before the deadline would only turn the real failure
      // into a timeout.
      if (call.deadline !== undefined && clock.now() + delay >= call.deadline)
        return failure.giveUp(undefined);
      if (budget && !budget.tryRetry()) {
        const note = budget.describe();
        call.attributes.set(RETRY_BUDGET_EXHAUSTED, note);
        return failure.giveUp(note);
      }
      if (delay <= 0) continue;
      try {
        await sleep(clock, delay, call.cancellation);
      } catch (reason) {
        failure.drop();
        throw this.policy.fault(reason, call);
      }
    }
  }
}

/** A call's first attempt; most calls need no other, so the async machinery waits for a failure. */
class RetryExchange implements Exchange {
  readonly call: MeshCall;
  readonly #retrier: Retrier;
  readonly #outer: MeshCall;
  readonly #link: Cancellation;
  readonly #budget: RetryBudgetWindow | undefined;

  constructor(
    retrier: Retrier,
    outer: MeshCall,
    first: MeshCall,
    link: Cancellation,
    budget: RetryBudgetWindow | undefined,
  ) {
    this.call = first;
    this.#retrier = retrier;
    this.#outer = outer;
    this.#link = link;
    this.#budget = budget;
  }

  answered(res: MeshResponse): MeshResponse | Promise<MeshResponse> {
    const { conditions, place } = this.#retrier.policy;
    if (!conditions.response(res)) {
      releaseWhenSettled(res, this.#link);
      return res;
    }
    const failure = new LastFailure(place, "retry");
    failure.answeredWith(res, this.#link);
    return this.#retrier.again(this.#outer, this.#budget, failure, 1);
  }

  failed(error: MeshError): Promise<MeshResponse> {
    const { conditions, place } = this.#retrier.policy;
    this.#link.release();
    if (!conditions.error(error)) throw error;
    const failure = new LastFailure(place, "retry");
    failure.failedWith(error);
    return this.#retrier.again(this.#outer, this.#budget, failure, 1);
  }
}

export const retryPlugin = definePlugin<RetryOptions>({
  name: "retry",
  places: ["client", "sidecar-outbound"],
  parseOptions: (raw) => retryOptionsFromProto(policyFromJson("retry", RetryPolicySchema, raw)),
  create: (options, ctx) => filterStep(retryFilter(options, ctx), ctx.place, "retry"),
});
