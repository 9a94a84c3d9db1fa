import { create } from "@bufbuild/protobuf";
import { FakeClock } from "@weft/core";
import { TrafficStatSchema } from "@weft/core/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TrafficLedger, type TrafficReporter } from "../../src/dashboard/traffic-ledger.ts";

const stat = (destination: string, requests: number, failures = 0, p99Ms = 0, p50Ms = 0) =>
  create(TrafficStatSchema, {
    destination,
    requests: BigInt(requests),
    failures: BigInt(failures),
    p50Ms,
    p99Ms,
  });

const orders = (instance = "1", since = 0): TrafficReporter => ({
  key: `shop/orders#${instance}`,
  caller: "shop/orders",
  namespace: "shop",
  since,
});

describe("TrafficLedger", () => {
  it("turns counters since the previous report into a rate per edge, resolving bare names in the caller's namespace", async () => {
    const clock = new FakeClock(1000);
    const ledger = new TrafficLedger({ clock });
    await clock.advance(5000);
    ledger.record(orders("1", 1000), [stat("inventory", 50, 1, 12, 3), stat("billing/payments", 10)]);
    expect(ledger.edges()).toMatchObject([
      { from: "shop/orders", to: "billing/payments", requests: 10, requestsPerSecond: 2, successRate: 1 },
      {
        from: "shop/orders",
        to: "shop/inventory",
        requests: 50,
        failures: 1,
        requestsPerSecond: 10,
        p99Ms: 12,
      },
    ]);
    expect(ledger.edges()[1]?.successRate).toBeCloseTo(0.98, 10);
  });

  it("sums the rates of a service's instances and bounds p99 by the largest reported", async () => {
    const clock = new FakeClock(0);
    const ledger = new TrafficLedger({ clock });
    await clock.advance(10_000);
    ledger.record(orders("1"), [stat("inventory", 100, 0, 20, 4)]);
    ledger.record(orders("2"), [stat("inventory", 300, 30, 80, 8)]);
    const [edge] = ledger.edges();
    expect(edge).toMatchObject({
      requests: 400,
      failures: 30,
      requestsPerSecond: 40,
      p99Ms: 80,
      reporters: 2,
    });
    expect(edge?.successRate).toBeCloseTo(370 / 400, 10);
    // Request-weighted mean of the medians: (100*4 + 300*8) / 400.
    expect(edge?.p50Ms).toBeCloseTo(7, 10);
  });

  it("fades out an instance that stops reporting, and forgets it after the window", async () => {
    const clock = new FakeClock(0);
    const ledger = new TrafficLedger({ clock, windowMs: 30_000 });
    for (let i = 0; i < 3; i++) {
      await clock.advance(5000);
      ledger.record(orders(), [stat("inventory", 50)]);
    }
    expect(ledger.edges()[0]?.requestsPerSecond).toBe(10);
    // On its rhythm, a report not yet due does not lower the rate.
    await clock.advance(9000);
    expect(ledger.edges()[0]?.requestsPerSecond).toBe(10);
    // Overdue (more than two intervals): the silence counts.
    await clock.advance(6000);
    expect(ledger.edges()[0]?.requestsPerSecond).toBeCloseTo(150 / 30, 10);
    await clock.advance(20_000);
    expect(ledger.edges()).toEqual([]);
    expect(ledger.reporterCount).toBe(0);
  });

  it("continues an instance's record across a reconnect: counters cover the time since its last report", async () => {
    const clock = new FakeClock(0);
    const ledger = new TrafficLedger({ clock });
    await clock.advance(5000);
    ledger.record(orders("1", 0), [stat("inventory", 50)]);
    await clock.advance(5000);
    // A new stream opened a moment ago, but its counters run from the previous report.
    ledger.record(orders("1", 9000), [stat("inventory", 50)]);
    expect(ledger.edges()[0]?.requestsPerSecond).toBe(10);
  });

  it("stays bounded: reports per instance and destinations per report are capped, junk is ignored", async () => {
    const clock = new FakeClock(0);
    const ledger = new TrafficLedger({ clock, maxReports: 4, maxStats: 2 });
    for (let i = 0; i < 100; i++) {
      await clock.advance(100);
      ledger.record(orders(), [
        stat("a", 1),
        stat("b", 1),
        stat("c", 1),
        stat("", 5),
        stat("x".repeat(400), 5),
      ]);
    }
    const edges = ledger.edges();
    expect(edges.map((e) => e.to)).toEqual(["shop/a", "shop/b"]);
    // Only the last 4 reports (400 ms) are kept; the rate is still right over what they cover.
    expect(edges[0]?.requests).toBe(4);
    expect(edges[0]?.requestsPerSecond).toBeCloseTo(4, 10);
  });

  it("never counts more failures than requests, nor a negative or NaN latency", async () => {
    const clock = new FakeClock(0);
    const ledger = new TrafficLedger({ clock });
    await clock.advance(1000);
    ledger.record(orders(), [stat("inventory", 2, 9, Number.NaN, -1)]);
    expect(ledger.edges()[0]).toMatchObject({ requests: 2, failures: 2, successRate: 0, p50Ms: 0, p99Ms: 0 });
  });

  it("property: steady reports of r requests every I ms read as r/I per ms, for any r, I and count", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1000, max: 15_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 100 }),
        async (r, interval, count, failPct) => {
          const clock = new FakeClock(0);
          const ledger = new TrafficLedger({ clock, windowMs: 60_000 });
          const failures = Math.floor((r * failPct) / 100);
          for (let i = 0; i < count; i++) {
            await clock.advance(interval);
            ledger.record(orders(), [stat("inventory", r, failures)]);
          }
          const [edge] = ledger.edges();
          expect(edge?.requestsPerSecond).toBeCloseTo((r * 1000) / interval, 6);
          expect(edge?.successRate).toBeCloseTo(r === 0 ? 1 : (r - failures) / r, 10);
        },
      ),
      { numRuns: 200 },
    );
  });
});
