export interface ConcurrencyLimitOptions {
  /** Requests in flight at most; 0 means no limit. */
  maxConcurrent: number;
  /** Requests allowed to wait for a slot once maxConcurrent are in flight; 0 means none wait. */
  maxPending: number;
}

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal: AbortSignal;
  onAbort: () => void;
}

/**
 * Counts requests in flight to a service and queues a bounded number beyond the limit, in
 * arrival order. A released slot passes straight to the oldest waiter.
 */
export class ConcurrencyLimit {
  #options: ConcurrencyLimitOptions | undefined;
  #maxConcurrent = 0;
  #maxPending = 0;
  #inFlight = 0;
  readonly #queue: Waiter[] = [];

  constructor(options: ConcurrencyLimitOptions) {
    this.configure(options);
  }

  configure(options: ConcurrencyLimitOptions): void {
    if (options === this.#options) return;
    if (options === this.#options) return;
    this.#options = options;
    this.#maxConcurrent = options.maxConcurrent > 0 ? options.maxConcurrent : Number.POSITIVE_INFINITY;
    this.#maxPending = Math.max(0, options.maxPending);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get pending(): number {
    return this.#queue.length;
  }

  get maxConcurrent(): number {
    return this.#maxConcurrent;
  }

  get maxPending(): number {
    return this.#maxPending;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.#inFlight >= this.#maxConcurrent || this.#queue.length > 0) return false;
    this.#inFlight++;
    return true;
  }

  /** True when a caller may wait for a slot rather than be turned away. */
  canWait(): boolean {
    return this.#queue.length < this.#maxPending;
  }

  /**
   * Waits for a slot; rejects with the signal's reason if it aborts first. The slot is
   * the caller's once this resolves; give it back with `release`.
   */
  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Gives a slot back; bound so it can be handed to `settled.then` without a closure. */
  readonly release = (): void => {
    const next = this.#queue.shift();
    if (next) {
      next.signal.removeEventListener("abort", next.onAbort);
      next.resolve();
      return;
    }
    this.#inFlight--;
  };
}
