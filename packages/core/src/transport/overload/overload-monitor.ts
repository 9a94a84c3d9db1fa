import { getHeapStatistics } from "node:v8";
import { type Clock, systemClock, type TimerHandle } from "../../clock/clock.ts";

/** How full the V8 heap is: bytes used and the most it may grow to (--max-old-space-size). */
export interface HeapReading {
  readonly used: number;
  readonly limit: number;
}

export type ReadHeap = () => HeapReading;

/** The process's own heap, from V8: what an out-of-memory crash is measured against. */
export const readV8Heap: ReadHeap = () => {
  const s = getHeapStatistics();
  return { used: s.used_heap_size, limit: s.heap_size_limit };
};

export interface OverloadThresholds {
  /** Fraction of the heap limit at or above which new requests and connections are refused. */
  readonly shedAt: number;
  /**
   * Fraction below which shedding stops. Lower than `shedAt` so a heap hovering at the line
   * does not flap between refusing and serving on every reading.
   */
  readonly recoverBelow: number;
  /** How often the heap is read. */
  readonly intervalMs: number;
}

/**
 * Envoy's overload manager stops accepting requests near its heap limit; these leave V8 room
 * to collect garbage (it slows sharply past ~90% of the limit) before the process dies.
 */
export const defaultOverloadThresholds: OverloadThresholds = {
  shedAt: 0.9,
  recoverBelow: 0.85,
  intervalMs: 1_000,
};

export interface OverloadMonitorOptions extends Partial<OverloadThresholds> {
  /** Defaults to readV8Heap; tests inject readings instead of exhausting memory. */
  readonly read?: ReadHeap;
  readonly clock?: Clock;
}

const MB = 1024 * 1024;

/**
 * Reads the heap on an interval and says whether the process is overloaded. Reading on a timer
 * (not per request) keeps the hot path to one boolean field read.
 */
export class OverloadMonitor {
  readonly thresholds: OverloadThresholds;
  #overloaded = false;
  #last: HeapReading | undefined;
  #timer: TimerHandle | undefined;
  readonly #read: ReadHeap;
  readonly #clock: Clock;
  readonly #watchers = new Set<(overloaded: boolean) => void>();

  constructor(options: OverloadMonitorOptions = {}) {
    const t = { ...defaultOverloadThresholds, ...withoutUndefined(options) };
    if (!(t.shedAt > 0 && t.shedAt <= 1) || !(t.recoverBelow > 0 && t.recoverBelow <= t.shedAt)) {
      throw new RangeError(
        `overload thresholds: need 0 < recoverBelow (${t.recoverBelow}) <= shedAt (${t.shedAt}) <= 1`,
      );
    }
    if (!(t.intervalMs > 0)) throw new RangeError(`overload intervalMs must be > 0, got ${t.intervalMs}`);
    this.thresholds = { shedAt: t.shedAt, recoverBelow: t.recoverBelow, intervalMs: t.intervalMs };
    this.#read = options.read ?? readV8Heap;
    this.#clock = options.clock ?? systemClock;
  }

  get overloaded(): boolean {
    return this.#overloaded;
  }

  get lastReading(): HeapReading | undefined {
    return this.#last;
  }

  /** Why requests are refused, for the `weft-error` reason a caller and an operator read. */
  get reason(): string {
    const r = this.#last;
    const used = r ? `heap ${percent(r.used / r.limit)} of ${Math.round(r.limit / MB)} MB used` : "heap full";
    return `overloaded: ${used} (sheds at ${percent(this.thresholds.shedAt)}, recovers below ${percent(this.thresholds.recoverBelow)})`;
  }

  /** Reads now (also when started, then every intervalMs); returns whether overloaded. */
  check(): boolean {
    const r = this.#read();
    this.#last = r;
    const fraction = r.limit > 0 ? r.used / r.limit : 0;
    const next = this.#overloaded
      ? fraction >= this.thresholds.recoverBelow
      : fraction >= this.thresholds.shedAt;
    if (next !== this.#overloaded) {
      this.#overloaded = next;
      for (const watch of this.#watchers) watch(next);
    }
    return next;
  }

  /** Calls `watch` on every change; returns the function that stops it. */
  onChange(watch: (overloaded: boolean) => void): () => void {
    this.#watchers.add(watch);
    return () => this.#watchers.delete(watch);
  }

  /** Starts reading on the interval (idempotent). The timer never keeps the process alive. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.check();
    this.#schedule();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(
      () => {
        this.check();
        if (this.#timer !== undefined) this.#schedule();
      },
      this.thresholds.intervalMs,
      { background: true },
    );
  }
}

function percent(f: number): string {
  return `${Math.round(f * 100)}%`;
}

function withoutUndefined(o: OverloadMonitorOptions): Partial<OverloadThresholds> {
  const out: { -readonly [K in keyof OverloadThresholds]?: number } = {};
  if (o.shedAt !== undefined) out.shedAt = o.shedAt;
  if (o.recoverBelow !== undefined) out.recoverBelow = o.recoverBelow;
  if (o.intervalMs !== undefined) out.intervalMs = o.intervalMs;
  return out;
}
