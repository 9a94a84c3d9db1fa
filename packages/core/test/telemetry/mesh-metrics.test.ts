import { Code } from "@connectrpc/connect";
import { register as globalRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import { type MeshCall, newCall, type Place, settledResponse } from "../../src/call/call.ts";
import { compose, type Handler, terminalStep } from "../../src/chain/chain.ts";
import { instantiatePlugin } from "../../src/chain/plugin.ts";
import { sleep } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { MeshMetrics } from "../../src/telemetry/mesh-metrics.ts";
import { metricsPlugin } from "../../src/telemetry/metrics-plugin.ts";
import { parseExposition, pluginContext, sampleValue, streamingResponse } from "./helpers.ts";

const OK = 0 as Code;

function chain(
  metrics: MeshMetrics,
  clock: FakeClock,
  place: Place,
  app: Handler,
  routeName?: string,
): Handler {
  const plugin = instantiatePlugin(metricsPlugin(metrics), {}, pluginContext(place, clock));
  const router = {
    name: "router",
    interceptor: (next: Handler) => (c: MeshCall) => {
      if (routeName) c.route = routeName;
      return next(c);
    },
  };
  return compose(place, [plugin, router], terminalStep("app", app));
}

const call = (place: Place = "client") =>
  newCall({ kind: "unary", place, service: "orders", namespace: "shop", method: "shop.v1.Orders/Get" });

/** An app that answers after `ms` of fake time with `code`, or throws a MeshError when `fail` is set. */
function app(clock: FakeClock, ms: number, code: Code = OK, fail?: MeshError): Handler {
  return async () => {
    await sleep(clock, ms);
    if (fail) throw fail;
    return settledResponse({ status: 200, code });
  };
}

const unavailable = new MeshError(Code.Unavailable, "no healthy endpoint for orders (3 ejected)", {
  place: "client",
  plugin: "balancer",
  policy: "",
});

describe("metrics plugin", () => {
  it("counts outcomes by code, fills the histogram and brings in-flight back to 0", async () => {
    const clock = new FakeClock();
    const metrics = new MeshMetrics({ clock });
    const okChain = chain(metrics, clock, "client", app(clock, 10), "reads");
    const failChain = chain(metrics, clock, "client", app(clock, 3, OK, unavailable), "reads");

    const calls = [okChain(call()), okChain(call()), okChain(call()), failChain(call()).catch((e) => e)];
    await clock.advance(1);
    let s = parseExposition(await metrics.text());
    expect(sampleValue(s, "weft_requests_in_flight", { service: "orders", peer: "web" })).toBe(4);
    await clock.advance(20);
    const results = await Promise.all(calls);
    expect(results[3]).toBe(unavailable);
    await clock.advance(0);

    s = parseExposition(await metrics.text());
    const edge = { place: "client", service: "orders", namespace: "shop", route: "reads", peer: "web" };
    expect(sampleValue(s, "weft_requests_total", { ...edge, code: "ok", status_class: "2xx" })).toBe(3);
    expect(sampleValue(s, "weft_requests_total", { ...edge, code: "unavailable", status_class: "5xx" })).toBe(
      1,
    );
    expect(sampleValue(s, "weft_requests_in_flight", { service: "orders" })).toBe(0);
    const ok = { ...edge, status_class: "2xx" };
    expect(sampleValue(s, "weft_request_duration_seconds_count", ok)).toBe(3);
    expect(sampleValue(s, "weft_request_duration_seconds_sum", ok)).toBeCloseTo(0.03, 9);
    expect(sampleValue(s, "weft_request_duration_seconds_bucket", { ...ok, le: "0.005" })).toBe(0);
    expect(sampleValue(s, "weft_request_duration_seconds_bucket", { ...ok, le: "0.01" })).toBe(3);
    expect(sampleValue(s, "weft_request_duration_seconds_bucket", { ...ok, le: "+Inf" })).toBe(3);
    const failed = { ...edge, status_class: "5xx" };
    expect(sampleValue(s, "weft_request_duration_seconds_bucket", { ...failed, le: "0.0025" })).toBe(0);
    expect(sampleValue(s, "weft_request_duration_seconds_bucket", { ...failed, le: "0.005" })).toBe(1);
    // Buckets cover 0.5 ms .. 30 s.
    const les = s.filter(
      (x) => x.name === "weft_request_duration_seconds_bucket" && x.labels.status_class === "2xx",
    );
    expect(les.map((x) => x.labels.le)).toEqual([
      "0.0005",
      "0.001",
      "0.0025",
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "30",
      "+Inf",
    ]);
  });

  it("times a stream to its settlement and counts the code it ends with", async () => {
    const clock = new FakeClock();
    const metrics = new MeshMetrics({ clock });
    const stream = streamingResponse();
    const handler = chain(metrics, clock, "client", async () => {
      await sleep(clock, 5);
      return stream.response;
    });
    const pending = handler(call());
    await clock.advance(5);
    const response = await pending;
    expect(response).toBe(stream.response);
    await clock.advance(1200);
    let s = parseExposition(await metrics.text());
    expect(sampleValue(s, "weft_requests_in_flight", { service: "orders" })).toBe(1);
    expect(s.some((x) => x.name === "weft_requests_total")).toBe(false);

    stream.finish({ code: Code.DataLoss, status: 200 });
    await clock.advance(0);
    s = parseExposition(await metrics.text());
    expect(sampleValue(s, "weft_requests_in_flight", { service: "orders" })).toBe(0);
    expect(sampleValue(s, "weft_requests_total", { code: "data_loss", status_class: "2xx" })).toBe(1);
    expect(sampleValue(s, "weft_request_duration_seconds_sum", {})).toBeCloseTo(1.205, 9);
    expect(sampleValue(s, "weft_request_duration_seconds_bucket", { le: "1" })).toBe(0);
    expect(sampleValue(s, "weft_request_duration_seconds_bucket", { le: "2.5" })).toBe(1);
  });

  it("counts a stream whose settlement rejects as a failure with the error's code", async () => {
    const clock = new FakeClock();
    const metrics = new MeshMetrics({ clock });
    const stream = streamingResponse();
    const handler = chain(metrics, clock, "sidecar-outbound", async () => stream.response);
    await handler(call("sidecar-outbound"));
    stream.fail(
      new MeshError(Code.DeadlineExceeded, "deadline of 2s exceeded", {
        place: "sidecar-outbound",
        plugin: "timeout",
        policy: "",
      }),
    );
    await clock.advance(0);
    const s = parseExposition(await metrics.text());
    expect(
      sampleValue(s, "weft_requests_total", {
        place: "sidecar-outbound",
        code: "deadline_exceeded",
        status_class: "5xx",
      }),
    ).toBe(1);
    expect(metrics.snapshot().services[0]?.successRate).toBe(0);
  });

  it("labels inbound calls with the caller's service account, never its address", async () => {
    const clock = new FakeClock();
    const metrics = new MeshMetrics({ clock });
    const handler = chain(metrics, clock, "server", app(clock, 1));
    const fromCart = newCall({
      kind: "unary",
      place: "server",
      service: "orders",
      namespace: "shop",
      method: "shop.v1.Orders/Get",
      source: {
        spiffeId: "spiffe://weft.local/ns/shop/sa/cart",
        trustDomain: "weft.local",
        namespace: "shop",
        serviceAccount: "cart",
      },
    });
    const p = [handler(fromCart), handler(call("server"))];
    await clock.advance(1);
    await Promise.all(p);
    const s = parseExposition(await metrics.text());
    expect(sampleValue(s, "weft_requests_total", { place: "server", peer: "cart" })).toBe(1);
    expect(sampleValue(s, "weft_requests_total", { place: "server", peer: "unknown" })).toBe(1);
    const peers = new Set(s.filter((x) => x.labels.peer !== undefined).map((x) => x.labels.peer));
    expect(peers).toEqual(new Set(["cart", "unknown"]));
  });

  it("counts plain HTTP responses by status class with an empty code", async () => {
    const clock = new FakeClock();
    const metrics = new MeshMetrics({ clock });
    const handler = chain(metrics, clock, "client", async () => settledResponse({ status: 404 }));
    await handler(newCall({ kind: "http", place: "client", service: "web", path: "/x", httpMethod: "GET" }));
    await clock.advance(0);
    const s = parseExposition(await metrics.text());
    // An empty label value is exposed as `code=""`.
    expect(sampleValue(s, "weft_requests_total", { service: "web", code: "", status_class: "4xx" })).toBe(1);
    expect(metrics.snapshot().services[0]?.successRate).toBe(1);
  });

  it("records retries and ejections through its hooks, folding free-text reasons", async () => {
    const clock = new FakeClock();
    const metrics = new MeshMetrics({ clock });
    const c = call("client");
    c.route = "reads";
    metrics.recordRetries(c, 2);
    metrics.recordEjection({
      place: "client",
      service: "orders",
      namespace: "shop",
      reason: "consecutive_5xx",
    });
    metrics.recordEjection({
      place: "client",
      service: "orders",
      namespace: "shop",
      reason: "endpoint 10.0.0.7 failed!",
    });
    metrics.recordEjection({
      place: "client",
      service: "orders",
      namespace: "shop",
      reason: "consecutive_5xx",
    });
    const s = parseExposition(await metrics.text());
    expect(sampleValue(s, "weft_retries_total", { service: "orders", route: "reads" })).toBe(2);
    expect(sampleValue(s, "weft_endpoint_ejections_total", { reason: "consecutive_5xx" })).toBe(2);
    expect(sampleValue(s, "weft_endpoint_ejections_total", { reason: "other" })).toBe(1);
    expect(metrics.snapshot().services[0]?.retries).toBe(2);
  });

  it("keeps each mesh's metrics in its own registry", async () => {
    const clock = new FakeClock();
    const a = new MeshMetrics({ clock });
    const b = new MeshMetrics({ clock });
    await chain(a, clock, "client", async () => settledResponse({ status: 200, code: OK }))(call());
    await clock.advance(0);
    expect(sampleValue(parseExposition(await a.text()), "weft_requests_total")).toBe(1);
    expect(parseExposition(await b.text()).some((x) => x.name === "weft_requests_total")).toBe(false);
    expect(await globalRegistry.metrics()).not.toContain("weft_");
    expect(a.contentType).toContain("text/plain");
  });

  it("rejects unknown options by name", () => {
    const metrics = new MeshMetrics();
    expect(() =>
      instantiatePlugin(metricsPlugin(metrics), { buckets: [1] }, pluginContext("client", new FakeClock())),
    ).toThrow('plugin metrics: unknown option "buckets"');
  });
});

describe("MeshMetrics.snapshot", () => {
  it("gives the success rate, rate and percentiles of a known latency distribution", async () => {
    const clock = new FakeClock();
    const metrics = new MeshMetrics({ clock });
    // 200 concurrent calls taking 1..200 ms; every 10th fails with Unavailable.
    const handler = chain(metrics, clock, "client", async (c) => {
      const i = Number(c.headers.get("x-i"));
      await sleep(clock, i);
      return settledResponse({ status: 200, code: i % 10 === 0 ? Code.Unavailable : OK });
    });
    const pending = Array.from({ length: 200 }, (_, k) =>
      handler(
        newCall({
          kind: "unary",
          place: "client",
          service: "orders",
          namespace: "shop",
          headers: { "x-i": String(k + 1) },
        }),
      ),
    );
    await clock.advance(200);
    await Promise.all(pending);
    await clock.advance(9_800); // 10 s after the first call started

    const snap = metrics.snapshot({ windowMs: 60_000 });
    expect(snap.services).toHaveLength(1);
    const orders = snap.services[0];
    expect(orders).toMatchObject({
      place: "client",
      service: "orders",
      namespace: "shop",
      requests: 200,
      failures: 20,
      inFlight: 0,
    });
    expect(orders?.successRate).toBe(0.9);
    expect(orders?.requestsPerSecond).toBeCloseTo(20, 9);
    // True nearest-rank p50 is 100 ms and p99 198 ms; buckets are ~9% wide.
    expect(orders?.p50Ms).toBeGreaterThan(100 / 1.05);
    expect(orders?.p50Ms).toBeLessThan(100 * 1.05);
    expect(orders?.p99Ms).toBeGreaterThan(198 / 1.05);
    expect(orders?.p99Ms).toBeLessThanOrEqual(200);

    // A minute later the calls have left the window.
    await clock.advance(60_000);
    expect(metrics.snapshot().services).toEqual([]);
  });
});
