import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { balancePlugin, FAILED_ENDPOINTS } from "../../src/balancer/balance-step.ts";
import { type BalancerOptions, balancerOptionsFromProto } from "../../src/balancer/create.ts";
import { forkCall, settledResponse } from "../../src/call/call.ts";
import { compose, type Handler, terminalStep } from "../../src/chain/chain.ts";
import { createPlugin, instantiatePlugin, silentLogger } from "../../src/chain/plugin.ts";
import { sleep } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { EndpointRegistry } from "../../src/endpoints/directory.ts";
import { EndpointSet } from "../../src/endpoints/endpoint-set.ts";
import type { EndpointInit } from "../../src/endpoints/endpoint-state.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { LoadBalancer_Algorithm, LoadBalancerSchema } from "../../src/gen/weft/v1/policy_pb.js";
import { OutlierDetector } from "../../src/outlier/outlier-detector.ts";
import { call, endpoints, seeded, tally } from "./helpers.ts";

function setup(
  eps: EndpointInit[],
  options: BalancerOptions,
  terminal: Handler,
  extra: { localZone?: string; seed?: number; json?: boolean } = {},
) {
  const clock = new FakeClock();
  const set = new EndpointSet({ service: "orders", clock, endpoints: eps });
  const registry = new EndpointRegistry();
  registry.set(set);
  const def = balancePlugin({
    endpoints: registry,
    localZone: extra.localZone,
    random: seeded(extra.seed ?? 1),
  });
  const ctx = { place: "client", clock, service: "web", namespace: "default", log: silentLogger } as const;
  // Plain options go straight to create(); configuration JSON goes through parseOptions.
  const plugin =
    "json" in extra && extra.json
      ? instantiatePlugin(def, options as Record<string, unknown>, ctx)
      : createPlugin(def, options, ctx);
  const handler = compose("client", [plugin], terminalStep("transport", terminal));
  return { clock, set, handler, registry };
}

const ok: Handler = async (c) => settledResponse({ status: 200, endpoint: c.endpoint });

describe("balance step", () => {
  it("sets call.endpoint and counts the call in flight until its response settles", async () => {
    let release: (() => void) | undefined;
    const { set, handler } = setup(endpoints(1), { algorithm: "round_robin" }, async (c) => {
      const settled = new Promise<{ code: undefined; status: number }>((resolve) => {
        release = () => resolve({ code: undefined, status: 200 });
      });
      return {
        status: 200,
        headers: new Headers(),
        code: undefined,
        body: undefined,
        endpoint: c.endpoint,
        settled,
      };
    });
    const res = await handler(call());
    expect(res.endpoint?.key).toBe("10.0.0.1:8080");
    expect(Object.isFrozen(res.endpoint)).toBe(true);
    expect(set.all[0]?.inFlight).toBe(1);
    release?.();
    await res.settled;
    await Promise.resolve();
    expect(set.all[0]?.inFlight).toBe(0);
  });

  it("fails UNAVAILABLE, never sent, naming the service and why, when no endpoint is eligible", async () => {
    const { set, handler } = setup(endpoints(3), { algorithm: "round_robin", panicThresholdPercent: 0 }, ok);
    const [a, b, c] = set.all;
    if (!a || !b || !c) throw new Error("no endpoints");
    set.eject(a, 30_000);
    set.eject(b, 30_000);
    set.setHealthy(c, false);
    const err = await handler(call()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshError);
    const e = err as MeshError;
    expect(e.code).toBe(Code.Unavailable);
    expect(e.reason).toBe("no healthy endpoint for orders (2 ejected, 1 unhealthy)");
    expect(e.neverSent).toBe(true);
    expect(e.provenance).toEqual({ place: "client", plugin: "balancer", policy: "" });
    set.close();
  });

  it("says so when discovery has no endpoint, or no set at all, for the service", async () => {
    // Configuration JSON, as a PluginRef would carry it.
    const { handler, set } = setup(
      [],
      { algorithm: "ALGORITHM_ROUND_ROBIN" } as unknown as BalancerOptions,
      ok,
      {
        json: true,
      },
    );
    await expect(handler(call())).rejects.toMatchObject({
      reason: "no healthy endpoint for orders (none discovered)",
    });
    set.update(endpoints(1));
    await expect(handler(call())).resolves.toBeDefined();
    const other = call();
    other.service = "payments";
    await expect(handler(other)).rejects.toMatchObject({
      code: Code.Unavailable,
      reason: "no endpoints known for payments in namespace default",
    });
  });

  it("sends a retry elsewhere when the first attempt failed, even with a hash balancer", async () => {
    const seen: string[] = [];
    const { handler } = setup(endpoints(3), { algorithm: "ring_hash", hashHeader: "x-user" }, async (c) => {
      seen.push(c.endpoint?.key ?? "");
      return seen.length === 1
        ? settledResponse({ status: 200, code: Code.Unavailable })
        : settledResponse({ status: 200 });
    });
    const original = call({ "x-user": "alice" });
    await handler(forkCall(original, { attempt: 1 }));
    await handler(forkCall(original, { attempt: 2 }));
    expect(seen[1]).not.toBe(seen[0]);
    expect(original.attributes.get(FAILED_ENDPOINTS)).toEqual([seen[0]]);
    // Without a failure the same key stays on its endpoint.
    const again = call({ "x-user": "alice" });
    await handler(again);
    expect(seen[2]).toBe(seen[0]);
  });

  it("avoids an endpoint whose attempt threw, and retries it only when nothing else is left", async () => {
    const seen: string[] = [];
    const { handler } = setup(endpoints(2), { algorithm: "round_robin" }, async (c) => {
      seen.push(c.endpoint?.key ?? "");
      throw new MeshError(
        Code.Unavailable,
        "connection refused",
        { place: "client", plugin: "transport", policy: "" },
        {
          neverSent: true,
        },
      );
    });
    const original = call();
    for (let attempt = 1; attempt <= 3; attempt++) {
      await handler(forkCall(original, { attempt })).catch(() => undefined);
    }
    expect(new Set(seen.slice(0, 2)).size).toBe(2);
    expect(seen).toHaveLength(3);
  });

  it("feeds outlier detection: an endpoint failing 5 times in a row stops getting calls", async () => {
    const { set, handler } = setup(endpoints(3), { algorithm: "round_robin" }, async (c) =>
      c.endpoint?.key === "10.0.0.2:8080"
        ? settledResponse({ status: 503 })
        : settledResponse({ status: 200, code: Code.NotFound }),
    );
    const detector = new OutlierDetector(set, { consecutiveFailures: 5, maxEjectionPercent: 50 });
    for (let i = 0; i < 15; i++) await handler(call());
    expect(set.get("10.0.0.2:8080")?.ejected).toBe(true);
    // NOT_FOUND is the application's answer, not the endpoint failing.
    expect(set.get("10.0.0.1:8080")?.ejected).toBe(false);
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push((await handler(call())).endpoint?.key ?? "");
    expect(seen).not.toContain("10.0.0.2:8080");
    detector.close();
    set.close();
  });

  it("P2C peak-EWMA sends at most 10% of calls to an endpoint 10x slower than its two peers, and takes it back once fast", async () => {
    const slow = "10.0.0.3:8080";
    const latency: Record<string, number> = { "10.0.0.1:8080": 10, "10.0.0.2:8080": 10, [slow]: 100 };
    const { clock, handler } = setup(endpoints(3), { algorithm: "p2c_peak_ewma" }, async (c) => {
      await sleep(clock, latency[c.endpoint?.key ?? ""] ?? 0);
      return settledResponse({ status: 200, endpoint: c.endpoint });
    });
    /** `n` calls, one every 5 ms (200/s) on the fake clock; the endpoints they went to. */
    const traffic = async (n: number) => {
      const keys: string[] = [];
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        pending.push(handler(call()).then((r) => keys.push(r.endpoint?.key ?? "")));
        await clock.advance(5);
      }
      await clock.advance(200);
      await Promise.all(pending);
      return keys;
    };
    const first = await traffic(2000);
    expect(first).toHaveLength(2000);
    // Measured: 1 call of 2000 (0.05%), sent before its latency was known.
    expect((tally(first).get(slow) ?? 0) / first.length).toBeLessThanOrEqual(0.1);
    // Recovered: once its estimate has decayed (tau 10 s) it is tried, found fast, and wins
    // back its share as the estimate converges with that time constant (measured: 24% in
    // the 10 s that follow 30 s of recovery; a third is the fair share).
    latency[slow] = 10;
    await traffic(6000);
    const last = await traffic(2000);
    expect((tally(last).get(slow) ?? 0) / last.length).toBeGreaterThan(0.15);
  });

  it("keeps calls in the local zone, fails over when it is unhealthy, and comes back when it heals", async () => {
    const eps = endpoints(6, (i) => ({ zone: i < 3 ? "zone-a" : "zone-b" }));
    const { set, handler } = setup(eps, { algorithm: "round_robin", zoneAware: true }, ok, {
      localZone: "zone-a",
    });
    const zonesOf = async (n: number) => {
      const zones = new Set<string>();
      for (let i = 0; i < n; i++) zones.add((await handler(call())).endpoint?.zone ?? "");
      return zones;
    };
    expect(await zonesOf(30)).toEqual(new Set(["zone-a"]));
    // 1 of 3 healthy is below the 50% threshold: fail over to every zone's healthy endpoints.
    const local = set.all.filter((e) => e.zone === "zone-a");
    set.setHealthy(local[0] as (typeof local)[0], false);
    set.setHealthy(local[1] as (typeof local)[0], false);
    const failover = await zonesOf(30);
    expect(failover).toEqual(new Set(["zone-a", "zone-b"]));
    set.setHealthy(local[0] as (typeof local)[0], true);
    expect(await zonesOf(30)).toEqual(new Set(["zone-a"]));
  });
});

describe("balancer options", () => {
  it("come from a LoadBalancer message", () => {
    const lb = create(LoadBalancerSchema, {
      algorithm: LoadBalancer_Algorithm.MAGLEV,
      hashHeader: "x-user",
      zoneAware: true,
      panicThresholdPercent: 30,
    });
    expect(balancerOptionsFromProto(lb)).toEqual({
      algorithm: "maglev",
      hashHeader: "x-user",
      zoneAware: true,
      panicThresholdPercent: 30,
    });
    // Unset algorithm and threshold: Linkerd's balancer, Envoy's panic threshold.
    expect(balancerOptionsFromProto(create(LoadBalancerSchema, {}))).toMatchObject({
      algorithm: "p2c_peak_ewma",
      panicThresholdPercent: 50,
    });
  });

  it("parse from configuration JSON and name what is wrong", () => {
    const def = balancePlugin({ endpoints: new EndpointRegistry() });
    const parse = (raw: Record<string, unknown>) => def.parseOptions?.(raw);
    expect(parse({ algorithm: "ALGORITHM_RING_HASH", hashHeader: "x-user" })).toMatchObject({
      algorithm: "ring_hash",
    });
    expect(parse({ algorithm: "least_request" })).toMatchObject({ algorithm: "least_request" });
    expect(() => parse({ algorithm: "fastest" })).toThrow(
      'balancer options: algorithm "fastest" is unknown; expected one of round_robin, weighted_random, least_request, p2c_peak_ewma, ring_hash, maglev',
    );
    expect(() => parse({ algorithm: "maglev" })).toThrow(/maglev needs hashHeader/);
    expect(() => parse({ hashHeadr: "x" })).toThrow(/hashHeadr/);
  });
});
