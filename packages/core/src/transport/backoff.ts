export interface BackoffOptions {
  /** Delay after the first failure, ms. */
  readonly baseMs: number;
  /** Ceiling of the delay, ms. */
  readonly maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 100, maxMs: 10_000 };

/**
 * Exponential backoff with "equal jitter": half the delay is fixed so a flapping endpoint is
 * not hammered, half random so many clients do not reconnect in lockstep.
 */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random) {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, failures - 1));
  return exp / 2 + (exp / 2) * random();
}
