import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type MeshCall, newCall, settledResponse } from "../../src/call/call.ts";
import type { Handler } from "../../src/chain/chain.ts";
import { definePlugin } from "../../src/chain/plugin.ts";
import { type Clock, systemClock } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { parseMeshConfig } from "../../src/config/index.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { peerIdentity } from "../../src/identity/spiffe.ts";
import { DataPlane } from "../../src/runtime/index.ts";

const yaml = (extra = "") => `
apiVersion: weft.dev/v1
kind: Mesh
spec:
  trustDomain: corp.test
  defaults:
    retry: { attempts: 3, backoff: { base: 1ms, max: 2ms } }
    outlierDetection: { consecutiveFailures: 5, baseEjectionTime: 30s, maxEjectionPercent: 50 }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  serviceAccount: orders-sa
  plugins:
    - module: tenant
      options: { tenant: acme }
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints:
    - { address: 10.0.0.1, port: 15008 }
    - { address: 10.0.0.2, port: 15008 }
    - { address: 10.0.0.3, port: 15008 }
${extra}`;

const tenant = definePlugin<{ tenant: string }>({
  name: "tenant",
  places: ["client", "sidecar-outbound"],
  parseOptions(raw) {
    if (typeof raw.tenant !== "string") throw new Error('tenant: option "tenant" must be a string');
    return { tenant: raw.tenant };
  },
  create: (o) => (next) => (call) => {
    call.headers.set("x-tenant", o.tenant);
    return next(call);
  },
});

// Backoff between attempts runs on the real clock (1-2 ms) unless a test drives a FakeClock.
function plane(send: Handler, clock: Clock = systemClock) {
  return new DataPlane({
    shape: "inprocess",
    service: "web",
    namespace: "shop",
    clock,
    send,
    plugins: [tenant],
    random: seeded(7),
  });
}

/** A small deterministic PRNG (LCG), so balancer picks and jitter repeat run to run. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const call = (idempotent = true) =>
  newCall({
    kind: "unary",
    place: "client",
    service: "orders",
    namespace: "shop",
    method: "shop.v1.Orders/Get",
    idempotent,
  });

describe("DataPlane outbound", () => {
  it("routes, runs user plugins from config, balances and retries on another endpoint", async () => {
    const seen: MeshCall[] = [];
    const dp = plane(async (c) => {
      seen.push(c);
      if (seen.length === 1) {
        throw new MeshError(
          Code.Unavailable,
          "connection refused",
          { place: "client", plugin: "transport", policy: "" },
          { neverSent: true },
        );
      }
      return settledResponse({ status: 200, endpoint: c.endpoint });
    });
    await dp.applyConfig(parseMeshConfig({ file: "m.yaml", text: yaml() }), "v1");
    const c = call(false);
    const r = await dp.outbound(c);
    expect(r.status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.endpoint?.key).not.toBe(seen[1]?.endpoint?.key);
    expect(seen[1]?.headers.get("x-tenant")).toBe("acme");
    expect(c.destination?.spiffeId).toBe("spiffe://corp.test/ns/shop/sa/orders-sa");
    expect(c.route).toBe("default");
    await r.settled;
    const text = await dp.metrics.text();
    expect(text).toMatch(/weft_retries_total\{[^}]*service="orders"[^}]*\} 1/);
  });

  it("keeps the version in force when a new one names a plugin it cannot load (NACK)", async () => {
    const dp = plane(async (c) => settledResponse({ status: 200, endpoint: c.endpoint }));
    await dp.applyConfig(parseMeshConfig({ file: "m.yaml", text: yaml() }), "v1");
    const bad = parseMeshConfig({
      file: "m.yaml",
      text: yaml().replace("module: tenant", "module: no-such-plugin"),
    });
    await expect(dp.applyConfig(bad, "v2")).rejects.toThrow(/plugin "no-such-plugin" is not registered/);
    const badOptions = parseMeshConfig({ file: "m.yaml", text: yaml().replace("tenant: acme", "tenant: 7") });
    await expect(dp.applyConfig(badOptions, "v3")).rejects.toThrow(/option "tenant" must be a string/);
    expect(dp.version).toBe("v1");
    const c = call();
    await dp.outbound(c);
    expect(c.headers.get("x-tenant")).toBe("acme");
  });

  it("ejects an endpoint that keeps failing, as the mesh defaults say", async () => {
    const clock = new FakeClock();
    let hits = 0;
    const dp = plane(async (c) => {
      if (c.endpoint?.address === "10.0.0.1") {
        hits++;
        return settledResponse({ status: 503, code: Code.Unavailable, endpoint: c.endpoint });
      }
      return settledResponse({ status: 200, endpoint: c.endpoint });
    }, clock);
    await dp.applyConfig(parseMeshConfig({ file: "m.yaml", text: yaml() }), "v1");
    for (let i = 0; i < 60; i++) {
      const pending = dp.outbound(call());
      await clock.advance(5); // lets a retry's backoff (1-2 ms) pass on the fake clock
      await (await pending).settled;
    }
    const set = dp.destinations.registry.get("orders", "shop");
    // The balancer learns to avoid the failing endpoint; it still took the 5 failures in a row.
    expect(hits).toBeGreaterThanOrEqual(5);
    expect(set?.ejectedCount).toBe(1);
    expect(set?.get("10.0.0.1:15008")?.ejected).toBe(true);
    await clock.advance(31_000);
    expect(set?.get("10.0.0.1:15008")?.ejected).toBe(false);
    dp.close();
  });

  it("fails with a clear reason when a service has no endpoint", async () => {
    const dp = plane(async () => settledResponse({ status: 200 }));
    await dp.applyConfig(parseMeshConfig({ file: "m.yaml", text: yaml() }), "v1");
    const c = newCall({
      kind: "unary",
      place: "client",
      service: "billing",
      namespace: "shop",
      method: "b.v1.B/Pay",
    });
    const err = await dp.outbound(c).catch((e) => e);
    expect(err).toBeInstanceOf(MeshError);
    expect(err.reason).toMatch(/no endpoints known for billing/);
    expect(err.provenance.plugin).toBe("balancer");
  });
});

describe("DataPlane inbound", () => {
  it("authorizes by the caller's certificate identity before the application runs", async () => {
    const policy = `---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: only-web, namespace: shop }
spec:
  services: [orders]
  action: ALLOW
  rules: [{ principals: ["spiffe://corp.test/ns/shop/sa/web"] }]
`;
    const dp = new DataPlane({
      shape: "sidecar",
      service: "orders",
      namespace: "shop",
      plugins: [tenant],
      send: async () => settledResponse({ status: 200 }),
    });
    await dp.applyConfig(parseMeshConfig({ file: "m.yaml", text: yaml(policy) }), "v1");
    let ran = 0;
    const app: Handler = async () => {
      ran++;
      return settledResponse({ status: 200 });
    };
    const inbound = (sa: string) =>
      dp.inbound(
        newCall({
          kind: "unary",
          place: "sidecar-inbound",
          service: "orders",
          namespace: "shop",
          method: "shop.v1.Orders/Get",
          source: peerIdentity("corp.test", "shop", sa),
        }),
        app,
      );
    expect((await inbound("web")).status).toBe(200);
    const denied = await inbound("batch").catch((e) => e);
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.reason).toContain("spiffe://corp.test/ns/shop/sa/batch may not call shop.v1.Orders/Get");
    expect(denied.provenance).toMatchObject({
      place: "sidecar-inbound",
      plugin: "authorization",
      policy: "shop/only-web",
    });
    expect(ran).toBe(1);
  });
});
