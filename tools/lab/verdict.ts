import type { CallRecord } from "./load.ts";

/** Calls, failures and latency of a set of call records. */
export interface CallStats {
  readonly calls: number;
  readonly failures: number;
  /** Percent of calls answered 200. */
  readonly successRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const ok = (r: CallRecord) => r.status === 200;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function callStats(records: readonly CallRecord[]): CallStats {
  const latencies = records.map((r) => r.latencyMs).sort((a, b) => a - b);
  const failures = records.filter((r) => !ok(r)).length;
  return {
    calls: records.length,
    failures,
    successRate: records.length === 0 ? 0 : (100 * (records.length - failures)) / records.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
  };
}

/** The records of calls started in [from, to). */
export function startedBetween(records: readonly CallRecord[], from: number, to = Number.POSITIVE_INFINITY) {
  return records.filter((r) => r.start >= from && r.start < to);
}

/**
 * Time from `from` until the last call started after it that was bad (failed, or slower than
 * `slowMs`) came back: 0 when none was. How long the fault was visible to callers.
 */
export function timeToRecoverMs(records: readonly CallRecord[], from: number, slowMs: number): number {
  let last = from;
  for (const r of records) {
    if (r.start < from) continue;
    if (!ok(r) || r.latencyMs > slowMs) last = Math.max(last, r.start + r.latencyMs);
  }
  return last - from;
}

/** The failures' reasons, most frequent first, with their latencies: `503 no healthy endpoint (4, 2-9 ms)`. */
export function failureReasons(records: readonly CallRecord[], limit = 3): string {
  const counts = new Map<string, { n: number; min: number; max: number }>();
  for (const r of records) {
    if (ok(r)) continue;
    const why = `${r.status || "no answer"} ${r.error}`.trim().slice(0, 120);
    const c = counts.get(why) ?? { n: 0, min: Number.POSITIVE_INFINITY, max: 0 };
    c.n++;
    c.min = Math.min(c.min, r.latencyMs);
    c.max = Math.max(c.max, r.latencyMs);
    counts.set(why, c);
  }
  return [...counts]
    .sort((a, b) => b[1].n - a[1].n)
    .slice(0, limit)
    .map(([why, c]) => `${why} (${c.n}, ${Math.round(c.min)}-${Math.round(c.max)} ms)`)
    .join("; ");
}

/** Share (percent) of the successful calls in `records` that `replica` answered. */
export function replicaShare(records: readonly CallRecord[], replica: string): number {
  const answered = records.filter(ok);
  if (answered.length === 0) return 0;
  return (100 * answered.filter((r) => r.replica === replica).length) / answered.length;
}

/** One check of a scenario's verdict. */
export interface Check {
  readonly what: string;
  readonly passed: boolean;
  readonly detail: string;
}

export const check = (what: string, passed: boolean, detail: string): Check => ({ what, passed, detail });

/** What a scenario reports: its verdict, its checks and its numbers (in print order). */
export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly passed: boolean;
  readonly checks: readonly Check[];
  readonly numbers: Readonly<Record<string, string | number>>;
  readonly seconds: number;
}

export const pct = (n: number) => `${n.toFixed(n === 100 || n === 0 ? 0 : 3)}%`;
export const ms = (n: number) => `${n === 0 || n >= 10 ? n.toFixed(0) : n.toFixed(2)} ms`;

/** The numbers every scenario prints for a window of calls, under a label. */
export function statsNumbers(label: string, s: CallStats): Record<string, string | number> {
  return {
    [`${label} calls`]: s.calls,
    [`${label} failures`]: s.failures,
    [`${label} success`]: pct(s.successRate),
    [`${label} p50`]: ms(s.p50Ms),
    [`${label} p99`]: ms(s.p99Ms),
  };
}
