import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS, latencyBucket, RollingWindow } from "../../src/telemetry/latency-window.ts";

/** Nearest-rank quantile. */
function trueQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

describe("RollingWindow", () => {
  it("estimates p50 and p99 within 4.5% of the true nearest-rank values", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.1, max: 120_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (latencies) => {
          const w = new RollingWindow(0);
          for (const ms of latencies) w.record(1, ms, false);
          const sorted = [...latencies].sort((a, b) => a - b);
          const stats = w.stats(1);
          for (const [q, estimate] of [
            [0.5, stats.p50Ms],
            [0.99, stats.p99Ms],
          ] as const) {
            const truth = trueQuantile(sorted, q);
            expect(estimate).toBeGreaterThanOrEqual(truth / 1.045);
            expect(estimate).toBeLessThanOrEqual(truth * 1.045);
          }
        },
      ),
    );
  });

  it("counts only the slots inside the window and rates over the time covered", () => {
    const w = new RollingWindow(0, { slotMs: 10_000, slots: 7 });
    for (let i = 0; i < 50; i++) w.record(5_000, 10, i < 5);
    for (let i = 0; i < 30; i++) w.record(25_000, 20, false);
    w.recordRetry(25_000);

    const all = w.stats(30_000);
    expect(all).toMatchObject({ requests: 80, failures: 5, retries: 1, coveredMs: 30_000 });
    expect(all.successRate).toBeCloseTo(75 / 80, 12);
    expect(all.requestsPerSecond).toBeCloseTo(80 / 30, 12);

    // The last 10 s: the current slot (20..30 s) only.
    const last = w.stats(30_000, 10_000);
    expect(last).toMatchObject({ requests: 30, failures: 0, coveredMs: 10_000 });
    expect(last.p50Ms).toBe(20); // clamped to the only latency seen

    // 70 s later everything has rotated out, and slots are reused cleanly.
    expect(w.stats(100_000).requests).toBe(0);
    w.record(100_000, 1, true);
    expect(w.stats(100_000)).toMatchObject({ requests: 1, failures: 1, successRate: 0, p50Ms: 1, p99Ms: 1 });
  });

  it("reports no traffic as rate 0, success 1 and zero latencies", () => {
    expect(new RollingWindow(0).stats(5_000)).toMatchObject({
      requests: 0,
      requestsPerSecond: 0,
      successRate: 1,
      p50Ms: 0,
      p99Ms: 0,
    });
  });

  it("puts latencies in increasing buckets and clamps the extremes", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(Number.NaN)).toBe(0);
    expect(latencyBucket(1e12)).toBe(LATENCY_BUCKETS - 1);
    let last = 0;
    for (let ms = 0.01; ms < 1e6; ms *= 1.03) {
      const b = latencyBucket(ms);
      expect(b).toBeGreaterThanOrEqual(last);
      last = b;
    }
  });

  it("rejects a bad configuration by name", () => {
    expect(() => new RollingWindow(0, { slotMs: 0 })).toThrow("slotMs must be > 0");
    expect(() => new RollingWindow(0, { slots: 1.5 })).toThrow("slots must be an integer");
  });
});
