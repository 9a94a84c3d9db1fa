import { readFileSync } from "node:fs";
import { parseMeshConfig } from "@weft/core";
import { describe, expect, it } from "vitest";
import { ExplainError, explainCall } from "../../src/explain/explain.ts";

const file = new URL("./fixtures/shop.yaml", import.meta.url);
const config = parseMeshConfig({ file: "shop.yaml", text: readFileSync(file, "utf8") });

const steps = (list: readonly { step: string }[]) => list.map((s) => s.step);

describe("explainCall", () => {
  it("explains a default-routed RPC: policies in chain order with their level and values, and the allowing rule", () => {
    const x = explainCall(config, { from: "frontend", to: "orders", target: "shop.v1.OrderService/Get" });
    expect(x.caller).toEqual({
      service: "frontend",
      namespace: "shop",
      defined: true,
      identity: "spiffe://example.org/ns/shop/sa/frontend",
      place: "sidecar-outbound",
    });
    expect(x.call).toMatchObject({ service: "orders", namespace: "shop", path: "/shop.v1.OrderService/Get" });
    expect(x.call.httpMethod).toBe("POST");
    expect(x.route).toEqual({ name: "default", priority: 0, matches: [] });
    expect(x.destinations).toHaveLength(1);
    const d = x.destinations[0];
    if (!d) throw new Error("no destination");
    // DataPlane's order: telemetry, timeout, user plugins, then the per-attempt steps, balancer last.
    expect(steps(d.outbound)).toEqual([
      "tracing",
      "metrics",
      "timeout",
      "plugin",
      "retry",
      "circuit-breaker",
      "per-try-timeout",
      "balancer",
    ]);
    const by = Object.fromEntries(d.outbound.map((s) => [s.step, s]));
    expect(by.timeout).toMatchObject({ from: "mesh defaults", settings: "request 5s" });
    expect(by.retry?.from).toBe("service shop/orders");
    expect(by.retry?.settings).toBe(
      "attempts 3, on unavailable, backoff 25ms..250ms, per try 500ms, budget 20% + 10/s over 10s",
    );
    expect(by["circuit-breaker"]).toMatchObject({
      from: "mesh defaults",
      settings: "at most 100 concurrent requests, 10 waiting",
    });
    expect(by["per-try-timeout"]).toMatchObject({ from: "service shop/orders", settings: "500ms" });
    expect(by.plugin).toMatchObject({
      from: "service shop/orders",
      settings: '@acme/audit#audit {"level":"full"}',
    });
    expect(by.balancer).toMatchObject({
      from: "service shop/orders",
      settings: "round_robin, zone-aware, panic below 50% healthy",
    });
    expect(d.endpointHealth).toEqual([
      {
        step: "outlier detection",
        from: "mesh defaults",
        settings:
          "eject after 3 failures in a row or a success rate 1.9 stdev below the mean for 10s..5m, at most 10% ejected, every 10s",
      },
    ]);
    // The callee is in-process: its inbound chain runs at "server", with its rate limit and plugin.
    expect(steps(d.inbound)).toEqual(["tracing", "metrics", "authorization", "rate-limit", "plugin"]);
    expect(d.identity).toBe("spiffe://example.org/ns/shop/sa/orders-sa");
    expect(d.endpoints).toEqual({ total: 3, healthy: 2, zones: ["a", "b"] });
    expect(d.authorization).toEqual({
      allowed: true,
      policy: "shop/frontend-may-order",
      ruleIndex: 1,
      reason: "allowed by shop/frontend-may-order rule 1",
      rule: {
        principals: ["spiffe://example.org/ns/shop/sa/frontend"],
        methods: ["shop.v1.OrderService/*"],
      },
    });
    expect(x.allowed).toBe(true);
  });

  it("follows a header match to the canary, whose route timeout replaces the mesh default", () => {
    const x = explainCall(config, {
      from: "shop/frontend",
      to: "orders",
      target: "shop.v1.OrderService/Get",
      headers: { "x-canary": "1" },
    });
    expect(x.route).toEqual({ name: "shop/orders-canary", priority: 10, matches: ['header x-canary = "1"'] });
    const d = x.destinations[0];
    expect(d?.service).toBe("orders-v2");
    // orders-v2 has no policies of its own: no retry step, the mesh's breaker, the route's timeout.
    expect(steps(d?.outbound ?? [])).toEqual([
      "tracing",
      "metrics",
      "timeout",
      "circuit-breaker",
      "balancer",
    ]);
    expect(d?.outbound.find((s) => s.step === "timeout")).toMatchObject({
      from: "route shop/orders-canary",
      settings: "request 2s",
    });
    expect(d?.endpoints).toEqual({ total: 0, healthy: 0, zones: [] });
    expect(d?.identity).toBe("spiffe://example.org/ns/shop/sa/orders-v2");
  });

  it("lists both sides of a weighted split, each with its own verdict", () => {
    const x = explainCall(config, { from: "frontend", target: "shop.v1.OrderService/Create" });
    expect(x.call.service).toBe("orders"); // found through rpcServices
    expect(x.route.name).toBe("shop/orders-create-split");
    expect(x.destinations.map((d) => [d.service, d.share])).toEqual([
      ["orders", 0.9],
      ["orders-v2", 0.1],
    ]);
    expect(x.allowed).toBe(true);
  });

  it("reports the DENY rule that decided, and default deny naming the ALLOW policy", () => {
    const denied = explainCall(config, {
      from: "frontend",
      to: "orders-v2",
      target: "shop.v1.OrderService/Delete",
    });
    expect(denied.allowed).toBe(false);
    expect(denied.destinations[0]?.authorization).toMatchObject({
      allowed: false,
      policy: "shop/no-deletes-on-v2",
      ruleIndex: 0,
      rule: { methods: ["shop.v1.OrderService/Delete"] },
    });

    const stranger = explainCall(config, { from: "shop/catalog", to: "orders", target: "/healthz" });
    expect(stranger.caller.defined).toBe(false);
    expect(stranger.caller.identity).toBe("spiffe://example.org/ns/shop/sa/catalog");
    expect(stranger.call).toMatchObject({ method: "", path: "/healthz", httpMethod: "GET" });
    expect(stranger.allowed).toBe(false);
    expect(stranger.destinations[0]?.authorization).toMatchObject({
      policy: "shop/frontend-may-order",
      ruleIndex: -1,
    });
    expect(stranger.destinations[0]?.authorization.reason).toContain("default deny");
    expect(stranger.notes.join("\n")).toContain("shop/catalog is not a Service");
  });

  it("allows a call to a service no policy selects, and notes an in-process caller's generated defaults", () => {
    const x = explainCall(config, { from: "orders", to: "frontend", target: "/", httpMethod: "get" });
    expect(x.caller.place).toBe("client");
    expect(x.call.httpMethod).toBe("GET");
    expect(x.destinations[0]?.authorization).toEqual({
      allowed: true,
      policy: "",
      ruleIndex: -1,
      reason: "no authorization policy selects the service",
    });
    expect(x.notes.join("\n")).toContain("per-method defaults");
  });

  it("refuses what it cannot explain, saying what to write instead", () => {
    expect(() => explainCall(config, { from: "frontend", to: "orders", target: "Get" })).toThrow(
      /neither an RPC method \(package.Service\/Method\) nor an HTTP path/,
    );
    expect(() => explainCall(config, { from: "frontend", target: "/x" })).toThrow(/--to is needed/);
    expect(() => explainCall(config, { from: "frontend", target: "a.B/C" })).toThrow(
      /no Service lists "a.B" in rpcServices/,
    );
    const twice = parseMeshConfig({
      file: "twice.yaml",
      text: `apiVersion: weft.dev/v1
kind: Service
metadata: { name: api, namespace: a }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: api, namespace: b }
`,
    });
    expect(() => explainCall(twice, { from: "api", to: "api", target: "/" })).toThrow(ExplainError);
    expect(() => explainCall(twice, { from: "api", to: "api", target: "/" })).toThrow(
      "is a Service in namespaces a, b; write namespace/api",
    );
    expect(explainCall(twice, { from: "b/api", to: "api", target: "/" }).call.namespace).toBe("b");
  });
});
