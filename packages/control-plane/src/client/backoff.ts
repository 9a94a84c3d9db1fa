/** Reconnect delays: exponential, capped, with jitter so that a thousand data planes
 * cut off at once do not come back at once. */
export interface BackoffOptions {
  /** First delay. Default 250 ms. */
  initialMs?: number;
  /** Largest delay. Default 30 s. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  multiplier?: number;
}

/** Delay before reconnect attempt `attempt` (0-based): "equal jitter", half fixed, half random. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 30_000;
  const ceiling = Math.min(max, initial * (options.multiplier ?? 2) ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}
