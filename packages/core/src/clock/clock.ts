import { type Canceller, watchAbort } from "../call/cancellation.ts";

/** A timer handle as returned by a Clock. Opaque to callers. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * Time as every policy sees it. Injected so that timeouts, backoff, budgets, ejection and
 * EWMA decay are tested deterministically with FakeClock, never by sleeping.
 */
export interface Clock {
  /** Milliseconds, monotonic within a process (not wall time). */
  now(): number;
  /**
   * `background` timers (health checks, outlier sweeps, un-ejection) never keep a process
   * alive on their own; timers a caller awaits (backoff, deadlines) do, as Node's own do.
   */
  setTimeout(fn: () => void, ms: number, options?: { background?: boolean }): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Resolves after `ms` on `clock`, or rejects with the canceller's reason once it aborts. */
export function sleep(clock: Clock, ms: number, canceller?: Canceller): Promise<void> {
  return new Promise((resolve, reject) => {
    if (canceller?.aborted) {
      reject(canceller.reason);
      return;
    }
    const handle = clock.setTimeout(() => {
      unwatch?.();
      resolve();
    }, ms);
    const unwatch =
      canceller &&
      watchAbort(canceller, (reason) => {
        clock.clearTimeout(handle);
        reject(reason);
      });
  });
}

interface Unrefable {
  unref?: () => void;
}

/** The real clock: performance.now() and the platform's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms, options) => {
    const t = globalThis.setTimeout(fn, ms);
    if (options?.background) (t as unknown as Unrefable).unref?.();
    return t as unknown as TimerHandle;
  },
  clearTimeout: (h) => globalThis.clearTimeout(h as unknown as ReturnType<typeof globalThis.setTimeout>),
};
