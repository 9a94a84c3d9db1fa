/**
 * Rolling request statistics kept in fixed time slots (7 of 10 s by default), so that
 * recording is a few array writes and a snapshot only merges a handful of slots.
 * Latencies go into log-scale buckets, 8 per doubling: a percentile read from them is
 * within about 4.5% of the true value, from 50 µs to several minutes.
 */

const MIN_MS = 0.05;
const PER_DOUBLING = 8;
/** 1 bucket for [0, MIN_MS], then 8 per doubling up to MIN_MS * 2^23 (about 7 minutes). */
export const LATENCY_BUCKETS = 1 + PER_DOUBLING * 23;

/** The bucket a latency falls in. */
export function latencyBucket(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const i = Math.ceil(Math.log2(ms / MIN_MS) * PER_DOUBLING);
  return i < LATENCY_BUCKETS ? i : LATENCY_BUCKETS - 1;
}

/** Upper bound of a bucket in ms. */
function bucketUpper(i: number): number {
  return MIN_MS * 2 ** (i / PER_DOUBLING);
}

/** A representative latency of a bucket: the geometric middle of its bounds. */
function bucketMiddle(i: number): number {
  return i === 0 ? MIN_MS : MIN_MS * 2 ** ((i - 0.5) / PER_DOUBLING);
}

class Slot {
  epoch = -1;
  requests = 0;
  failures = 0;
  retries = 0;
  minMs = Number.POSITIVE_INFINITY;
  maxMs = 0;
  readonly counts = new Uint32Array(LATENCY_BUCKETS);

  reset(epoch: number): void {
    this.epoch = epoch;
    this.requests = 0;
    this.failures = 0;
    this.retries = 0;
    this.minMs = Number.POSITIVE_INFINITY;
    this.maxMs = 0;
    this.counts.fill(0);
  }
}

export interface WindowStats {
  /** Requests completed in the window. */
  readonly requests: number;
  readonly failures: number;
  readonly retries: number;
  /** Length of time the figures cover (ms): the window, or less when recording began later. */
  readonly coveredMs: number;
  readonly requestsPerSecond: number;
  /** (requests - failures) / requests; 1 when there were no requests. */
  readonly successRate: number;
  /** Latency percentiles in ms; 0 when there were no requests. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface RollingWindowOptions {
  /** Length of one slot (ms). Default 10 000. */
  slotMs?: number;
  /** Slots kept, the current one included: the longest window is slotMs * (slots - 1). Default 7 (60 s). */
  slots?: number;
}

export class RollingWindow {
  readonly slotMs: number;
  readonly #slots: Slot[];
  readonly #startedAt: number;

  constructor(now: number, options: RollingWindowOptions = {}) {
    const slotMs = options.slotMs ?? 10_000;
    const slots = options.slots ?? 7;
    if (!(slotMs > 0)) throw new RangeError(`rolling window slotMs must be > 0, got ${slotMs}`);
    if (!Number.isInteger(slots) || slots < 2) {
      throw new RangeError(`rolling window slots must be an integer >= 2, got ${slots}`);
    }
    this.slotMs = slotMs;
    this.#slots = Array.from({ length: slots }, () => new Slot());
    this.#startedAt = now;
  }

  /** Longest window (ms) a snapshot can cover in whole slots (one slot is the current, partial one). */
  get spanMs(): number {
    return this.slotMs * (this.#slots.length - 1);
  }

  record(now: number, durationMs: number, failed: boolean): void {
    const slot = this.#slot(now);
    slot.requests++;
    if (failed) slot.failures++;
    if (durationMs < slot.minMs) slot.minMs = durationMs;
    if (durationMs > slot.maxMs) slot.maxMs = durationMs;
    const counts = slot.counts;
    const i = latencyBucket(durationMs);
    counts[i] = (counts[i] ?? 0) + 1;
  }

  recordRetry(now: number): void {
    this.#slot(now).retries++;
  }

  /**
   * Statistics of the last `windowMs` rounded up to whole slots, plus the part of the
   * current slot already elapsed (so a window never shrinks to nothing at a slot boundary).
   */
  stats(now: number, windowMs: number = this.spanMs): WindowStats {
    const k = Math.min(this.#slots.length - 1, Math.max(1, Math.ceil(windowMs / this.slotMs)));
    const epoch = Math.floor(now / this.slotMs);
    const merged = new Float64Array(LATENCY_BUCKETS);
    let requests = 0;
    let failures = 0;
    let retries = 0;
    let minMs = Number.POSITIVE_INFINITY;
    let maxMs = 0;
    for (const slot of this.#slots) {
      if (slot.epoch > epoch || slot.epoch < epoch - k) continue;
      requests += slot.requests;
      failures += slot.failures;
      retries += slot.retries;
      if (slot.minMs < minMs) minMs = slot.minMs;
      if (slot.maxMs > maxMs) maxMs = slot.maxMs;
      const counts = slot.counts;
      for (let i = 0; i < LATENCY_BUCKETS; i++) merged[i] = (merged[i] ?? 0) + (counts[i] ?? 0);
    }
    const windowCovered = k * this.slotMs + (now - epoch * this.slotMs);
    const coveredMs = Math.max(1, Math.min(windowCovered, now - this.#startedAt));
    return {
      requests,
      failures,
      retries,
      coveredMs,
      requestsPerSecond: (requests * 1000) / coveredMs,
      successRate: requests === 0 ? 1 : (requests - failures) / requests,
      p50Ms: percentile(merged, requests, 0.5, minMs, maxMs),
      p99Ms: percentile(merged, requests, 0.99, minMs, maxMs),
    };
  }

  #slot(now: number): Slot {
    const epoch = Math.floor(now / this.slotMs);
    const slots = this.#slots;
    const n = slots.length;
    const slot = slots[((epoch % n) + n) % n] as Slot;
    if (slot.epoch !== epoch) slot.reset(epoch);
    return slot;
  }
}

/** The q-quantile of bucketed counts, clamped to the latencies actually seen. */
function percentile(counts: Float64Array, total: number, q: number, minMs: number, maxMs: number): number {
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) {
      const estimate = Math.min(bucketMiddle(i), bucketUpper(i));
      return Math.min(maxMs, Math.max(minMs, estimate));
    }
  }
  return maxMs;
}
