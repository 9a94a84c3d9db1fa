import type { Clock } from "../clock/clock.ts";

export interface TokenBucketOptions {
  requestsPerSecond: number;
  /** Bucket size: calls allowed at once after a quiet spell. 0 means one second's worth. */
  burst: number;
}

/**
 * A token bucket on the injected clock. Tokens are counted in thousandths so a whole-ms
 * clock and a whole rate refill exactly (3/s gives 3 tokens per 1000 ms, not 2.999...).
 */
export class TokenBucket {
  readonly #clock: Clock;
  #ratePerMs = 0;
  #capacity = 0;
  #tokens = 0;
  #last: number;
  #options: TokenBucketOptions;

  constructor(options: TokenBucketOptions, clock: Clock) {
    this.#clock = clock;
    this.#last = clock.now();
    this.#options = options;
    this.#apply(options);
    this.#tokens = this.#capacity;
  }

  /** Applies a new rate and size, keeping the tokens there are (up to the new size). */
  configure(options: TokenBucketOptions): void {
    if (options !== this.#options) this.#apply(options);
  }

  #apply(options: TokenBucketOptions): void {
    if (!(options.requestsPerSecond > 0)) {
      throw new Error(`rate limit requests_per_second must be > 0, got ${options.requestsPerSecond}`);
    }
    this.#options = options;
    this.#refill();
    this.#ratePerMs = options.requestsPerSecond;
    this.#capacity = (options.burst > 0 ? options.burst : options.requestsPerSecond) * 1000;
    if (this.#tokens > this.#capacity) this.#tokens = this.#capacity;
  }

  get options(): TokenBucketOptions {
    return this.#options;
  }

  /** Bucket size in whole calls. */
  get burst(): number {
    return this.#capacity / 1000;
  }

  /** Takes one token; false when the bucket is empty. */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens < 1000) return false;
    this.#tokens -= 1000;
    return true;
  }

  /** Milliseconds until a token will be there (0 when one is). */
  msUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1000 ? 0 : Math.ceil((1000 - this.#tokens) / this.#ratePerMs);
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#last;
    if (elapsed <= 0) return;
    this.#last = now;
    const tokens = this.#tokens + elapsed * this.#ratePerMs;
    this.#tokens = Math.min(tokens, this.#capacity);
  }
}
