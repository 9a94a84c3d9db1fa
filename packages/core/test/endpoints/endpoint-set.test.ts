import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { EndpointRegistry } from "../../src/endpoints/directory.ts";
import { EndpointSet } from "../../src/endpoints/endpoint-set.ts";
import type { EndpointInit, EndpointState } from "../../src/endpoints/endpoint-state.ts";
import { endpointFailed, endpointFailedError } from "../../src/endpoints/outcome.ts";
import { decayedLatency } from "../../src/endpoints/peak-ewma.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { HealthStatus, ServiceEndpointsSchema } from "../../src/gen/weft/v1/endpoint_pb.js";

const ep = (i: number, extra: Partial<EndpointInit> = {}): EndpointInit => ({
  address: `10.0.0.${i}`,
  port: 8080,
  ...extra,
});
const keys = (eps: readonly EndpointState[]) => eps.map((e) => e.key);
const must = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Error("missing");
  return v;
};

describe("EndpointSet", () => {
  it("keys endpoints by address:port and keeps their state across updates", () => {
    const clock = new FakeClock();
    const set = new EndpointSet({ service: "orders", clock, endpoints: [ep(1), ep(2)] });
    const first = must(set.get("10.0.0.1:8080"));
    set.onStart(first);
    set.update([ep(1, { weight: 5, zone: "z1" }), ep(3)]);
    expect(set.get("10.0.0.1:8080")).toBe(first);
    expect(first.inFlight).toBe(1);
    expect(first.weight).toBe(5);
    expect(first.ref.zone).toBe("z1");
    expect(set.get("10.0.0.3:8080")?.weight).toBe(1);
    expect(set.get("10.0.0.2:8080")).toBeUndefined();
    expect(
      new EndpointSet({ service: "s", clock, endpoints: [{ address: "fd00::1", port: 9 }] }).all[0]?.key,
    ).toBe("[fd00::1]:9");
  });

  it("drains an endpoint removed with calls in flight: never picked, dropped when its last call ends", () => {
    const set = new EndpointSet({ service: "orders", clock: new FakeClock(), endpoints: [ep(1), ep(2)] });
    const leaving = must(set.get("10.0.0.2:8080"));
    set.onStart(leaving);
    set.update([ep(1)]);
    expect(leaving.draining).toBe(true);
    expect(keys(set.view().endpoints)).toEqual(["10.0.0.1:8080"]);
    expect(set.view().draining).toBe(1);
    expect(set.get("10.0.0.2:8080")).toBe(leaving);
    set.onEnd(leaving, 5, true);
    expect(set.get("10.0.0.2:8080")).toBeUndefined();
    expect(set.all).toHaveLength(1);
  });

  it("takes endpoints from the control plane, draining and unhealthy ones included", () => {
    const set = new EndpointSet({ service: "orders", clock: new FakeClock() });
    set.updateFromProto(
      create(ServiceEndpointsSchema, {
        service: "orders",
        endpoints: [
          { address: "10.0.0.1", port: 15008, zone: "a", weight: 0 },
          { address: "10.0.0.2", port: 15008, health: HealthStatus.DRAINING },
          { address: "10.0.0.3", port: 15008, health: HealthStatus.UNHEALTHY, weight: 3 },
          { address: "10.0.0.4", port: 15008 },
        ],
      }),
    );
    const view = set.view();
    expect(keys(view.endpoints)).toEqual(["10.0.0.1:15008", "10.0.0.4:15008"]);
    expect(view).toMatchObject({ members: 3, unhealthy: 1, draining: 1, panic: false });
    expect(set.get("10.0.0.3:15008")?.weight).toBe(3);
  });

  it("returns the same view object until something changes", () => {
    const set = new EndpointSet({ service: "orders", clock: new FakeClock(), endpoints: [ep(1), ep(2)] });
    const v = set.view();
    set.onStart(must(set.all[0]));
    expect(set.view()).toBe(v);
    set.setHealthy(must(set.all[0]), false);
    expect(set.view()).not.toBe(v);
  });

  it("uses every endpoint when fewer than the panic threshold are healthy (Envoy's panic mode)", () => {
    const set = new EndpointSet({
      service: "orders",
      clock: new FakeClock(),
      endpoints: Array.from({ length: 10 }, (_, i) => ep(i + 1)),
    });
    const policy = { panicThresholdPercent: 50, zoneAware: false, localZone: "" };
    for (const e of set.all.slice(0, 5)) set.setHealthy(e, false);
    // 5 of 10 healthy: at the threshold, not below it.
    expect(set.view(policy)).toMatchObject({ panic: false, unhealthy: 5 });
    expect(set.view(policy).endpoints).toHaveLength(5);
    set.eject(must(set.all[5]), 10_000);
    expect(set.view(policy)).toMatchObject({ panic: true, ejected: 1 });
    expect(set.view(policy).endpoints).toHaveLength(10);
    // Panic mode off: only the 4 healthy ones.
    expect(set.view({ ...policy, panicThresholdPercent: 0 }).endpoints).toHaveLength(4);
    set.close();
  });

  it("prefers the local zone while enough of it is healthy, fails over, and recovers", () => {
    const set = new EndpointSet({
      service: "orders",
      clock: new FakeClock(),
      endpoints: [ep(1, { zone: "a" }), ep(2, { zone: "a" }), ep(3, { zone: "b" }), ep(4, { zone: "b" })],
    });
    const policy = { panicThresholdPercent: 50, zoneAware: true, localZone: "a" };
    expect(set.view(policy)).toMatchObject({ zone: "a" });
    expect(keys(set.view(policy).endpoints)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
    const [a1, a2] = set.all;
    set.setHealthy(must(a1), false);
    // 1 of 2 local healthy: still at the threshold.
    expect(keys(set.view(policy).endpoints)).toEqual(["10.0.0.2:8080"]);
    set.setHealthy(must(a2), false);
    expect(set.view(policy)).toMatchObject({ zone: "", panic: false });
    expect(keys(set.view(policy).endpoints)).toEqual(["10.0.0.3:8080", "10.0.0.4:8080"]);
    set.setHealthy(must(a1), true);
    expect(keys(set.view(policy).endpoints)).toEqual(["10.0.0.1:8080"]);
    // A caller in a zone with no endpoints spreads over all zones.
    expect(set.view({ ...policy, localZone: "c" }).endpoints).toHaveLength(3);
  });

  it("un-ejects an endpoint when its ejection time is up", async () => {
    const clock = new FakeClock();
    const set = new EndpointSet({ service: "orders", clock, endpoints: [ep(1), ep(2)] });
    const e = must(set.all[0]);
    set.eject(e, 1000);
    expect(e.ejectedUntil).toBe(1000);
    await clock.advance(999);
    expect(e.ejected).toBe(true);
    await clock.advance(1);
    expect(e.ejected).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it("tells observers about calls and membership", () => {
    const set = new EndpointSet({ service: "orders", clock: new FakeClock(), endpoints: [ep(1)] });
    const events: string[] = [];
    const stop = set.observe({
      onStart: (e) => events.push(`start ${e.key}`),
      onEnd: (e, ms, ok) => events.push(`end ${e.key} ${ms} ${ok}`),
      onAdded: (e) => events.push(`added ${e.key}`),
      onRemoved: (e) => events.push(`removed ${e.key}`),
    });
    const e = must(set.all[0]);
    set.onStart(e);
    set.onEnd(e, 12, false);
    set.update([ep(2)]);
    stop();
    set.update([ep(3)]);
    expect(events).toEqual([
      "added 10.0.0.1:8080",
      "start 10.0.0.1:8080",
      "end 10.0.0.1:8080 12 false",
      "removed 10.0.0.1:8080",
      "added 10.0.0.2:8080",
    ]);
  });

  it("tracks a peak EWMA of latency: slow samples count at once, fast ones blend in with time", async () => {
    const clock = new FakeClock();
    const set = new EndpointSet({ service: "orders", clock, endpoints: [ep(1)], ewmaDecayMs: 1000 });
    const e = must(set.all[0]);
    expect(e.ewmaMs).toBe(30);
    set.onStart(e);
    set.onEnd(e, 10, true);
    expect(e.ewmaMs).toBe(10);
    set.onStart(e);
    set.onEnd(e, 200, true);
    expect(e.ewmaMs).toBe(200);
    await clock.advance(1000);
    set.onStart(e);
    set.onEnd(e, 10, true);
    // One time constant later a fast sample takes 1 - 1/e of the weight.
    expect(e.ewmaMs).toBeCloseTo(200 / Math.E + 10 * (1 - 1 / Math.E), 6);
    await clock.advance(1000);
    expect(decayedLatency(e, clock.now(), 1000)).toBeCloseTo(e.ewmaMs / Math.E, 6);
  });
});

describe("EndpointRegistry", () => {
  it("finds sets by service and namespace, and closes a set it replaces or deletes", async () => {
    const clock = new FakeClock();
    const registry = new EndpointRegistry();
    const a = new EndpointSet({ service: "orders", namespace: "shop", clock, endpoints: [ep(1)] });
    registry.set(a);
    expect(registry.get("orders", "shop")).toBe(a);
    expect(registry.get("orders", "default")).toBeUndefined();
    a.eject(must(a.all[0]), 5000);
    expect(clock.pendingTimers).toBe(1);
    const b = new EndpointSet({ service: "orders", namespace: "shop", clock });
    registry.set(b);
    expect(clock.pendingTimers).toBe(0);
    expect([...registry.values()]).toEqual([b]);
    expect(registry.delete("orders", "shop")).toBe(true);
    expect(registry.delete("orders", "shop")).toBe(false);
  });
});

describe("endpoint failure classification", () => {
  it("counts server failures, not application errors, caller deadlines or cancellations", () => {
    expect(endpointFailed({ code: Code.Unavailable, status: 200 })).toBe(true);
    expect(endpointFailed({ code: Code.Internal, status: 200 })).toBe(true);
    expect(endpointFailed({ code: undefined, status: 502 })).toBe(true);
    expect(endpointFailed({ code: Code.NotFound, status: 200 })).toBe(false);
    expect(endpointFailed({ code: Code.DeadlineExceeded, status: 200 })).toBe(false);
    expect(endpointFailed({ code: undefined, status: 404 })).toBe(false);
    expect(endpointFailed({ code: undefined, status: 200 })).toBe(false);
    const where = { place: "client", plugin: "transport", policy: "" } as const;
    expect(endpointFailedError(new MeshError(Code.Unavailable, "connection refused", where))).toBe(true);
    expect(endpointFailedError(new MeshError(Code.Canceled, "reset", where, { neverSent: true }))).toBe(true);
    expect(endpointFailedError(new MeshError(Code.Canceled, "caller went away", where))).toBe(false);
    expect(endpointFailedError(new DOMException("aborted", "AbortError"))).toBe(false);
    expect(endpointFailedError(new Error("ECONNRESET"))).toBe(true);
  });
});
