import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { EndpointSet } from "../../src/endpoints/endpoint-set.ts";
import type { EndpointState } from "../../src/endpoints/endpoint-state.ts";
import { OutlierDetectionSchema } from "../../src/gen/weft/v1/policy_pb.js";
import { outlierOptionsFromProto, resolveOutlierOptions } from "../../src/outlier/options.ts";
import { type Ejection, OutlierDetector } from "../../src/outlier/outlier-detector.ts";

function setup(n: number, options: ConstructorParameters<typeof OutlierDetector>[1]) {
  const clock = new FakeClock();
  const set = new EndpointSet({
    service: "orders",
    clock,
    endpoints: Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080 })),
  });
  const ejections: Ejection[] = [];
  const detector = new OutlierDetector(set, options, (e) => ejections.push(e));
  const at = (i: number): EndpointState => {
    const e = set.all[i];
    if (!e) throw new Error(`no endpoint ${i}`);
    return e;
  };
  /** `count` calls on endpoint i with the given result. */
  const calls = (i: number, count: number, success: boolean) => {
    for (let k = 0; k < count; k++) {
      set.onStart(at(i));
      set.onEnd(at(i), 1, success);
    }
  };
  return { clock, set, detector, ejections, at, calls };
}

describe("consecutive-failure ejection", () => {
  it("ejects an endpoint after 5 failures in a row and brings it back after its ejection time", async () => {
    const { clock, at, calls, detector, set } = setup(4, { consecutiveFailures: 5, baseEjectionMs: 30_000 });
    calls(0, 4, false);
    calls(0, 1, true);
    calls(0, 4, false);
    expect(at(0).ejected).toBe(false);
    calls(0, 1, false);
    expect(at(0).ejected).toBe(true);
    expect(set.view().endpoints).not.toContain(at(0));
    await clock.advance(29_999);
    expect(at(0).ejected).toBe(true);
    await clock.advance(1);
    expect(at(0).ejected).toBe(false);
    detector.close();
  });

  it("makes a second ejection last twice as long, and relaxes the multiplier while the endpoint behaves", async () => {
    const { clock, at, calls, detector, ejections } = setup(4, {
      consecutiveFailures: 5,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      intervalMs: 10_000,
    });
    calls(0, 5, false);
    await clock.advance(30_000);
    expect(at(0).ejected).toBe(false);
    calls(0, 5, false);
    expect(ejections.map((e) => e.durationMs)).toEqual([30_000, 60_000]);
    await clock.advance(59_999);
    expect(at(0).ejected).toBe(true);
    await clock.advance(1);
    expect(at(0).ejected).toBe(false);
    // Two intervals in rotation take the multiplier from 2 back to 0: the next ejection is the base again.
    await clock.advance(20_000);
    calls(0, 5, false);
    expect(ejections[2]).toMatchObject({ durationMs: 30_000, times: 1, reason: "consecutive_failures" });
    detector.close();
  });

  it("caps an ejection at the max ejection time", async () => {
    const { clock, calls, detector, ejections } = setup(2, {
      consecutiveFailures: 1,
      baseEjectionMs: 10_000,
      maxEjectionMs: 25_000,
      maxEjectionPercent: 100,
    });
    // Fails again as soon as it is back, before an interval in rotation could relax the multiplier.
    for (let k = 0; k < 4; k++) {
      calls(0, 1, false);
      await clock.advance(ejections.at(-1)?.durationMs ?? 0);
    }
    expect(ejections.map((e) => e.durationMs)).toEqual([10_000, 20_000, 25_000, 25_000]);
    detector.close();
  });

  it("ejects no more than max ejection percent of the endpoints (one always may be)", () => {
    const { at, calls, detector, set } = setup(10, { consecutiveFailures: 3, maxEjectionPercent: 20 });
    for (let i = 0; i < 10; i++) calls(i, 3, false);
    expect(set.ejectedCount).toBe(2);
    expect([at(0).ejected, at(1).ejected, at(2).ejected]).toEqual([true, true, false]);
    detector.close();
    set.close();
    const small = setup(3, { consecutiveFailures: 1, maxEjectionPercent: 10 });
    small.calls(0, 1, false);
    small.calls(1, 1, false);
    expect(small.set.ejectedCount).toBe(1);
    small.detector.close();
    small.set.close();
  });

  it("does not count successes as failures, whatever else happens", () => {
    const { calls, set, detector } = setup(3, { consecutiveFailures: 2 });
    for (let k = 0; k < 50; k++) {
      calls(0, 1, false);
      calls(0, 1, true);
    }
    expect(set.ejectedCount).toBe(0);
    detector.close();
  });
});

describe("success-rate ejection", () => {
  it("ejects the endpoint whose success rate is far below its peers' at the interval", async () => {
    const { clock, at, calls, detector, ejections } = setup(6, {
      consecutiveFailures: 0,
      intervalMs: 10_000,
      successRateStdevFactor: 1.9,
      successRateMinimumHosts: 5,
      successRateRequestVolume: 100,
      maxEjectionPercent: 50,
    });
    for (let i = 0; i < 5; i++) {
      calls(i, 98, true);
      calls(i, 2, false);
    }
    // 60% success, interleaved so consecutive failures would never trip.
    for (let k = 0; k < 40; k++) {
      calls(5, 3, true);
      calls(5, 2, false);
    }
    expect(at(5).ejected).toBe(false);
    await clock.advance(10_000);
    expect(at(5).ejected).toBe(true);
    expect(ejections).toHaveLength(1);
    expect(ejections[0]).toMatchObject({ reason: "success_rate" });
    detector.close();
  });

  it("needs the minimum number of hosts with the request volume", async () => {
    const { clock, at, calls, detector } = setup(6, {
      consecutiveFailures: 0,
      successRateMinimumHosts: 5,
      successRateRequestVolume: 100,
      maxEjectionPercent: 50,
    });
    for (let i = 0; i < 3; i++) calls(i, 100, true);
    // Below the volume: not rated, so only 4 endpoints are.
    calls(3, 99, true);
    calls(4, 50, true);
    calls(5, 100, false);
    await clock.advance(10_000);
    expect(at(5).ejected).toBe(false);
    detector.close();
  });
});

describe("outlier options", () => {
  it("come from an OutlierDetection message, unset fields taking Envoy's defaults", () => {
    const seconds = (s: number) => create(DurationSchema, { seconds: BigInt(s) });
    const opts = outlierOptionsFromProto(
      create(OutlierDetectionSchema, {
        consecutiveFailures: 7,
        baseEjectionTime: seconds(10),
        maxEjectionPercent: 30,
        successRateStdevFactor: 2,
        interval: create(DurationSchema, { nanos: 500_000_000 }),
      }),
    );
    expect(resolveOutlierOptions(opts)).toEqual({
      consecutiveFailures: 7,
      baseEjectionMs: 10_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 30,
      intervalMs: 500,
      successRateStdevFactor: 2,
      successRateMinimumHosts: 5,
      successRateRequestVolume: 100,
    });
    expect(() => resolveOutlierOptions({ maxEjectionPercent: 150 })).toThrow(
      /maxEjectionPercent must be within 0..100/,
    );
  });

  it("stops its interval timer on close", async () => {
    const { clock, detector, set } = setup(2, {});
    expect(clock.pendingTimers).toBe(1);
    detector.close();
    set.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
