import { Code } from "@connectrpc/connect";
import { forkCall, type MeshCall, type MeshResponse, type Place, releaseWhenSettled } from "../call/call.ts";
import type { Cancellation } from "../call/cancellation.ts";
import type { Handler, Interceptor } from "../chain/chain.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import type { Clock, TimerHandle } from "../clock/clock.ts";
import { asMeshError, MeshError } from "../errors/mesh-error.ts";
import { type HedgingPolicy, HedgingPolicySchema, type RetryOn } from "../gen/weft/v1/policy_pb.js";
import { RETRY_BUDGET_EXHAUSTED, RETRY_COUNT } from "./attributes.ts";
import { writeDeadlineHeaders } from "./deadline-headers.ts";
import { msFromDuration } from "./duration.ts";
import { LastFailure } from "./last-failure.ts";
import { policyFromJson } from "./plugin-options.ts";
import { PerService, type ResilienceState, sharedResilienceState } from "./resilience-state.ts";
import type { RetryBudgetOptions, RetryBudgetWindow } from "./retry-budget.ts";
import { RetryConditions } from "./retry-on.ts";

export interface HedgingOptions {
  /** Attempts at most, the first included; 1 or less means no hedging. */
  maxAttempts: number;
  /** Time to wait for an answer before sending the next attempt. */
  delayMs: number;
  /**
   * Failures that are not final (gRPC A6's non-fatal codes): on one, the next hedge goes
   * at once instead of the answer being taken. None by default: the first answer wins.
   */
  retryOn?: readonly RetryOn[];
  /** Hedged attempts take from this budget like retries do (the route's retry budget). */
  budget?: RetryBudgetOptions;
  /** Handles the calls that may not be hedged (not idempotent, body not replayable). */
  fallback?: Interceptor;
  state?: ResilienceState;
}

export function hedgingOptionsFromProto(policy: HedgingPolicy): HedgingOptions {
  return { maxAttempts: policy.maxAttempts, delayMs: msFromDuration(policy.delay) ?? 0 };
}

/**
 * Hedging (gRPC A6): an idempotent call is sent again every `delayMs` until an answer
 * comes, up to `maxAttempts` attempts; the first final answer (a success, or a failure
 * not in `retryOn`) is taken and the other attempts are cancelled through their signals.
 * A non-final failure sends the next hedge at once. Calls that may not be sent twice go
 * to the fallback (the retry step, or straight on).
 */
export function hedgingInterceptor(options: HedgingOptions, ctx: PluginContext): Interceptor {
  const maxAttempts = Math.floor(options.maxAttempts);
  const conditions =
    options.retryOn && options.retryOn.length > 0 ? new RetryConditions(options.retryOn) : undefined;
  const budgetOptions = options.budget;
  const state = options.state ?? sharedResilienceState(ctx.clock);
  const budgets = budgetOptions
    ? new PerService<RetryBudgetWindow>(ctx.place, (key) => state.budget(key, budgetOptions))
    : undefined;
  const config: HedgeConfig = {
    clock: ctx.clock,
    place: ctx.place,
    maxAttempts,
    delayMs: Math.max(0, options.delayMs),
    conditions,
  };
  return (next: Handler): Handler => {
    const fallback = options.fallback ? options.fallback(next) : next;
    return (call: MeshCall): Promise<MeshResponse> => {
      if (maxAttempts <= 1 || !call.idempotent || !call.body.replayable) return fallback(call);
      return new Hedge(config, call, next, budgets?.for(call)).promise;
    };
  };
}

interface HedgeConfig {
  readonly clock: Clock;
  readonly place: Place;
  readonly maxAttempts: number;
  readonly delayMs: number;
  readonly conditions: RetryConditions | undefined;
}

/** One hedged call: its attempts in flight, its timer, and the answer once there is one. */
class Hedge {
  readonly promise: Promise<MeshResponse>;
  readonly #config: HedgeConfig;
  readonly #call: MeshCall;
  readonly #next: Handler;
  readonly #budget: RetryBudgetWindow | undefined;
  /** Links of the attempts in flight, by attempt number - 1; undefined once answered. */
  readonly #links: (Cancellation | undefined)[] = [];
  readonly #failure: LastFailure;
  #resolve!: (res: MeshResponse) => void;
  #reject!: (err: unknown) => void;
  #timer: TimerHandle | undefined;
  #inFlight = 0;
  #done = false;
  #budgetNote: string | undefined;

  constructor(config: HedgeConfig, call: MeshCall, next: Handler, budget: RetryBudgetWindow | undefined) {
    this.#config = config;
    this.#call = call;
    this.#next = next;
    this.#budget = budget;
    this.#failure = new LastFailure(config.place, "hedging");
    this.promise = new Promise<MeshResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    budget?.recordRequest();
    this.#launch();
  }

  #launch(): void {
    const call = this.#call;
    const attempt = this.#links.length + 1;
    const link = call.cancellation.child();
    this.#links.push(link);
    this.#inFlight++;
    if (attempt > 1) call.attributes.set(RETRY_COUNT, attempt - 1);
    const now = attempt === 1 ? (call.startedAt ?? this.#config.clock.now()) : this.#config.clock.now();
    const attemptCall = forkCall(call, { attempt, cancellation: link, startedAt: now });
    if (call.deadline !== undefined) writeDeadlineHeaders(attemptCall.headers, call.deadline - now);
    if (attempt < this.#config.maxAttempts) {
      this.#timer = this.#config.clock.setTimeout(this.#onDelay, this.#config.delayMs);
    }
    this.#next(attemptCall).then(
      (res) => this.#answered(attempt, link, res),
      (err) => this.#failed(attempt, link, err),
    );
  }

  readonly #onDelay = (): void => {
    this.#timer = undefined;
    if (!this.#done) this.#tryLaunch();
  };

  /** Starts another attempt if attempts, the caller and the budget allow. */
  #tryLaunch(): boolean {
    if (this.#links.length >= this.#config.maxAttempts || this.#call.cancellation.aborted) return false;
    if (this.#budget && !this.#budget.tryRetry()) {
      this.#budgetNote = this.#budget.describe();
      this.#call.attributes.set(RETRY_BUDGET_EXHAUSTED, this.#budgetNote);
      return false;
    }
    this.#launch();
    return true;
  }

  #answered(attempt: number, link: Cancellation, res: MeshResponse): void {
    this.#landed(attempt);
    if (this.#done) return;
    if (this.#config.conditions?.response(res)) {
      this.#failure.answeredWith(res, link);
      this.#nonFinal();
      return;
    }
    this.#finish(attempt);
    this.#failure.drop();
    releaseWhenSettled(res, link);
    this.#resolve(res);
  }

  #failed(attempt: number, link: Cancellation, err: unknown): void {
    this.#landed(attempt);
    link.release();
    if (this.#done) return;
    const e = asMeshError(err, {
      place: this.#config.place,
      plugin: "hedging",
      policy: this.#call.route ?? "",
    });
    if (this.#config.conditions?.error(e)) {
      this.#failure.failedWith(e);
      this.#nonFinal();
      return;
    }
    this.#finish(attempt);
    this.#failure.drop();
    this.#reject(e);
  }

  /** A non-final failure: the next hedge goes now; with none left, the last failure stands. */
  #nonFinal(): void {
    if (this.#timer !== undefined) {
      this.#config.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#tryLaunch() || this.#inFlight > 0) return;
    this.#done = true;
    try {
      this.#resolve(this.#failure.giveUp(this.#budgetNote));
    } catch (e) {
      this.#reject(e);
    }
  }

  #landed(attempt: number): void {
    this.#inFlight--;
    this.#links[attempt - 1] = undefined;
  }

  /** Stops the timer and cancels the attempts still in flight: `winner` answered first. */
  #finish(winner: number): void {
    this.#done = true;
    if (this.#timer !== undefined) {
      this.#config.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#inFlight === 0) return;
    const lost = new MeshError(Code.Canceled, `hedged attempt cancelled: attempt ${winner} answered first`, {
      place: this.#config.place,
      plugin: "hedging",
      policy: this.#call.route ?? "",
    });
    for (const link of this.#links) link?.abort(lost);
  }
}

export const hedgingPlugin = definePlugin<HedgingOptions>({
  name: "hedging",
  places: ["client", "sidecar-outbound"],
  parseOptions: (raw) => hedgingOptionsFromProto(policyFromJson("hedging", HedgingPolicySchema, raw)),
  create: (options, ctx) => hedgingInterceptor(options, ctx),
});
