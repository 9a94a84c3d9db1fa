import type { Clock } from "../clock/clock.ts";
import type { RetryBudget as RetryBudgetProto } from "../gen/weft/v1/policy_pb.js";
import { msFromDuration } from "./duration.ts";

export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of requests in the window (Linkerd's default: 0.2). */
  ratio: number;
  /** Retries allowed per second whatever the traffic, so a quiet service can still retry. */
  minRetriesPerSecond: number;
  windowMs: number;
}

/** Linkerd's defaults, used for fields a RetryBudget message leaves unset. */
const DEFAULT_WINDOW_MS = 10_000;

export function retryBudgetOptionsFromProto(budget: RetryBudgetProto): RetryBudgetOptions {
  return {
    ratio: budget.ratio,
    minRetriesPerSecond: budget.minRetriesPerSecond,
    windowMs: msFromDuration(budget.window) || DEFAULT_WINDOW_MS,
  };
}

/** The window slides in steps of window / BUCKETS. */
export const RETRY_BUDGET_BUCKETS = 10;

/**
 * A retry budget (Linkerd style): over a sliding window, retries may be at most
 * `ratio * requests + minRetriesPerSecond * windowSeconds`. Retries (and hedged attempts)
 * are counted apart from requests, so retrying never earns more retries. The window is
 * RETRY_BUDGET_BUCKETS buckets of window/RETRY_BUDGET_BUCKETS ms: the current bucket and
 * the ones before it.
 */
export class RetryBudgetWindow {
  readonly #clock: Clock;
  #ratio = 0;
  #reserve = 0;
  #bucketMs = 1;
  #options: RetryBudgetOptions;
  readonly #requests = new Float64Array(RETRY_BUDGET_BUCKETS);
  readonly #retries = new Float64Array(RETRY_BUDGET_BUCKETS);
  #head = 0;
  #headStart: number;
  #requestSum = 0;
  #retrySum = 0;

  constructor(options: RetryBudgetOptions, clock: Clock) {
    this.#clock = clock;
    this.#headStart = clock.now();
    this.#options = options;
    this.#apply(options);
  }

  /** Applies new limits (a config change) without forgetting what the window has seen. */
  configure(options: RetryBudgetOptions): void {
    if (options !== this.#options) this.#apply(options);
  }

  #apply(options: RetryBudgetOptions): void {
    if (!(options.windowMs > 0))
      throw new Error(`retry budget window must be > 0 ms, got ${options.windowMs}`);
    if (!(options.ratio >= 0)) throw new Error(`retry budget ratio must be >= 0, got ${options.ratio}`);
    this.#options = options;
    this.#ratio = options.ratio;
    this.#reserve = options.minRetriesPerSecond * (options.windowMs / 1000);
    if (this.#bucketMs !== options.windowMs / RETRY_BUDGET_BUCKETS) {
      this.#bucketMs = options.windowMs / RETRY_BUDGET_BUCKETS;
      this.#headStart = this.#clock.now();
    }
  }

  /** Counts an original request (not a retry); `now` when the caller has just read the clock. */
  recordRequest(now: number = this.#clock.now()): void {
    this.#roll(now);
    this.#requests[this.#head] = (this.#requests[this.#head] ?? 0) + 1;
    this.#requestSum++;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryRetry(): boolean {
    this.#roll();
    // The epsilon keeps 0.2 * 50 from coming out a hair under 10.
    if (this.#retrySum + 1 > this.#ratio * this.#requestSum + this.#reserve + 1e-9) return false;
    this.#retries[this.#head] = (this.#retries[this.#head] ?? 0) + 1;
    this.#retrySum++;
    return true;
  }

  /** Requests and retries in the window now. */
  get counts(): { requests: number; retries: number } {
    this.#roll();
    return { requests: this.#requestSum, retries: this.#retrySum };
  }

  /** "20% of 50 requests/10s + 10/s": for the note on a failure the budget let through. */
  describe(): string {
    this.#roll();
    const o = this.#options;
    const floor = o.minRetriesPerSecond > 0 ? ` + ${o.minRetriesPerSecond}/s` : "";
    return `${round(o.ratio * 100)}% of ${this.#requestSum} requests/${round(o.windowMs / 1000)}s${floor}`;
  }

  #roll(now: number = this.#clock.now()): void {
    const elapsed = Math.floor((now - this.#headStart) / this.#bucketMs);
    if (elapsed <= 0) return;
    const steps = Math.min(elapsed, RETRY_BUDGET_BUCKETS);
    for (let i = 0; i < steps; i++) {
      this.#head = (this.#head + 1) % RETRY_BUDGET_BUCKETS;
      this.#requestSum -= this.#requests[this.#head] ?? 0;
      this.#retrySum -= this.#retries[this.#head] ?? 0;
      this.#requests[this.#head] = 0;
      this.#retries[this.#head] = 0;
    }
    this.#headStart += elapsed * this.#bucketMs;
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
