import type { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MeshCall, newCall, settledResponse } from "../../src/call/call.ts";
import { compose, type Handler, terminalStep } from "../../src/chain/chain.ts";
import { instantiatePlugin } from "../../src/chain/plugin.ts";
import { sleep } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshMetrics } from "../../src/telemetry/mesh-metrics.ts";
import { metricsPlugin } from "../../src/telemetry/metrics-plugin.ts";
import { trafficReporter } from "../../src/telemetry/traffic-report.ts";
import { pluginContext } from "./helpers.ts";

/** Records `n` completed outbound calls to shop/`service` taking `ms`, `failed` of them failures. */
function record(metrics: MeshMetrics, service: string, n: number, ms = 5, failed = 0): void {
  const w = metrics.forPlace("client").service(service, "shop").window;
  for (let i = 0; i < n; i++) w.record(metrics.clock.now(), ms, i < failed);
}

const counts = (stats: ReturnType<ReturnType<typeof trafficReporter>>) =>
  Object.fromEntries(
    stats.map((s) => [s.destination, [Number(s.requests), Number(s.failures), Number(s.retries)]]),
  );

describe("trafficReporter", () => {
  it("reports per destination the calls since the previous report, not what the window still holds", async () => {
    const clock = new FakeClock(0);
    const metrics = new MeshMetrics({ clock });
    record(metrics, "orders", 7); // before the reporter exists: not news
    const report = trafficReporter(metrics);
    record(metrics, "orders", 50, 4, 1);
    record(metrics, "payments", 10, 20, 10);
    await clock.advance(3000);
    expect(counts(report())).toEqual({ "shop/orders": [50, 1, 0], "shop/payments": [10, 10, 0] });
    // Same slot, later: only what came after.
    record(metrics, "orders", 5);
    await clock.advance(3000);
    expect(counts(report())).toEqual({ "shop/orders": [5, 0, 0] });
    // Nothing new: nothing to say.
    await clock.advance(3000);
    expect(report()).toEqual([]);
    // Across slot boundaries (10 s slots): 12 s later, calls on both sides of the boundary.
    record(metrics, "orders", 3);
    await clock.advance(6000);
    record(metrics, "orders", 4, 5, 2);
    await clock.advance(6000);
    expect(counts(report())).toEqual({ "shop/orders": [7, 2, 0] });
  });

  it("takes p50/p99 from the window's slots covering the interval, and counts retries", async () => {
    const clock = new FakeClock(0);
    const metrics = new MeshMetrics({ clock });
    const report = trafficReporter(metrics);
    record(metrics, "orders", 98, 2);
    record(metrics, "orders", 2, 400);
    const call = newCall({
      kind: "unary",
      place: "client",
      service: "orders",
      namespace: "shop",
      method: "m",
    });
    metrics.recordRetries(call, 3);
    await clock.advance(1000);
    const [s] = report();
    expect(s).toMatchObject({ destination: "shop/orders", requests: 100n, failures: 0n, retries: 3n });
    // Log buckets: within 5% of the true percentiles.
    expect(s?.p50Ms).toBeGreaterThan(1.9);
    expect(s?.p50Ms).toBeLessThan(2.1);
    expect(s?.p99Ms).toBeGreaterThan(380);
    expect(s?.p99Ms).toBeLessThanOrEqual(400);
  });

  it("sees calls that went through the metrics step, on the outbound places only", async () => {
    const clock = new FakeClock(0);
    const metrics = new MeshMetrics({ clock });
    const report = trafficReporter(metrics);
    const chainAt = (place: "client" | "server"): Handler =>
      compose(
        place,
        [instantiatePlugin(metricsPlugin(metrics), {}, pluginContext(place, clock))],
        terminalStep("app", async () => {
          await sleep(clock, 8);
          return settledResponse({ status: 200, code: 0 as Code });
        }),
      );
    const call = (place: "client" | "server"): MeshCall =>
      newCall({ kind: "unary", place, service: "orders", namespace: "shop", method: "shop.v1.Orders/Get" });
    const out = [
      chainAt("client")(call("client")),
      chainAt("client")(call("client")),
      chainAt("server")(call("server")),
    ];
    await clock.advance(8);
    await Promise.all(out);
    await clock.advance(1);
    expect(counts(report())).toEqual({ "shop/orders": [2, 0, 0] });
  });

  it("after a gap longer than the window, reports what the window still holds instead of double counting", async () => {
    const clock = new FakeClock(0);
    const metrics = new MeshMetrics({ clock, window: { slotMs: 1000, slots: 4 } });
    record(metrics, "orders", 0);
    const report = trafficReporter(metrics);
    record(metrics, "orders", 9);
    await clock.advance(10_000);
    record(metrics, "orders", 2);
    await clock.advance(500);
    expect(counts(report())).toEqual({ "shop/orders": [2, 0, 0] });
  });

  it("property: the reports add up to every call made, whatever the timing, while reports stay within the window", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            calls: fc.integer({ min: 0, max: 30 }),
            failed: fc.integer({ min: 0, max: 30 }),
            waitMs: fc.integer({ min: 0, max: 25_000 }),
            report: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 0, max: 9_999 }),
        async (steps, startMs) => {
          const clock = new FakeClock(startMs);
          const metrics = new MeshMetrics({ clock });
          const report = trafficReporter(metrics);
          let made = 0;
          let failedMade = 0;
          let reported = 0;
          let failedReported = 0;
          let sinceReport = 0;
          const take = () => {
            for (const s of report()) {
              reported += Number(s.requests);
              failedReported += Number(s.failures);
            }
            sinceReport = 0;
          };
          for (const step of steps) {
            const failed = Math.min(step.failed, step.calls);
            record(metrics, "orders", step.calls, 3, failed);
            made += step.calls;
            failedMade += failed;
            // Reports at most 40 s apart: inside the 60 s window less a slot.
            if (step.report || sinceReport + step.waitMs > 40_000) take();
            await clock.advance(step.waitMs);
            sinceReport += step.waitMs;
          }
          take();
          expect(reported).toBe(made);
          expect(failedReported).toBe(failedMade);
        },
      ),
      { numRuns: 300 },
    );
  });
});
