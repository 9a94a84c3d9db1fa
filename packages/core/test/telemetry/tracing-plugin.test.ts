import { Code } from "@connectrpc/connect";
import { propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { type MeshCall, newCall, type Place, settledResponse } from "../../src/call/call.ts";
import { compose, type Handler, terminalStep } from "../../src/chain/chain.ts";
import { instantiatePlugin } from "../../src/chain/plugin.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { parseTraceparent } from "../../src/telemetry/traceparent.ts";
import { tracingPlugin } from "../../src/telemetry/tracing-plugin.ts";
import { endpoint, pluginContext, streamingResponse } from "./helpers.ts";
import { MemoryTracerProvider } from "./memory-tracer.ts";

const OK = 0 as Code;
const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function traced(place: Place, app: Handler, raw: Record<string, unknown>): Handler {
  const plugin = instantiatePlugin(tracingPlugin, raw, pluginContext(place, new FakeClock()));
  return compose(place, [plugin], terminalStep("app", app));
}

/** An app that records the headers it received. */
function recorder(
  respond: () => Promise<import("../../src/call/call.ts").MeshResponse> = async () =>
    settledResponse({ status: 200, code: OK }),
) {
  const seen: Headers[] = [];
  const app: Handler = async (c: MeshCall) => {
    seen.push(new Headers(c.headers));
    return respond();
  };
  return { seen, app };
}

const rpc = (place: Place, headers?: Record<string, string>) =>
  newCall({
    kind: "unary",
    place,
    service: "orders",
    namespace: "shop",
    method: "shop.v1.Orders/Get",
    headers,
  });

describe("tracing plugin", () => {
  it("continues the incoming trace with a new CLIENT span and sends that span's id on", async () => {
    const provider = new MemoryTracerProvider();
    const { seen, app } = recorder();
    await traced("client", app, { tracerProvider: provider })(
      rpc("client", { traceparent: incoming, tracestate: "vendor=abc" }),
    );
    await Promise.resolve();

    expect(provider.spans).toHaveLength(1);
    const span = provider.spans[0];
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.name).toBe("shop.v1.Orders/Get");
    expect(span?.parent).toMatchObject({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      isRemote: true,
    });
    const out = parseTraceparent(seen[0]?.get("traceparent"));
    expect(out?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(out?.spanId).toBe(span?.spanContext().spanId);
    expect(out?.spanId).not.toBe("00f067aa0ba902b7");
    expect(out?.flags).toBe(1);
    expect(seen[0]?.get("tracestate")).toBe("vendor=abc");
    expect(span?.ended).toBe(true);
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.attributes).toMatchObject({
      "weft.place": "client",
      "weft.service": "orders",
      "rpc.grpc.status_code": 0,
    });
  });

  it("starts a SERVER span on the inbound side and a new trace when none came", async () => {
    const provider = new MemoryTracerProvider();
    const { seen, app } = recorder();
    await traced("sidecar-inbound", app, { tracerProvider: provider })(rpc("sidecar-inbound"));
    await Promise.resolve();
    const span = provider.spans[0];
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.parent).toBeUndefined();
    const out = parseTraceparent(seen[0]?.get("traceparent"));
    expect(out?.traceId).toBe(span?.spanContext().traceId);
    expect(out?.spanId).toBe(span?.spanContext().spanId);
  });

  it("treats an invalid incoming traceparent as no trace at all", async () => {
    const provider = new MemoryTracerProvider();
    const { seen, app } = recorder();
    const bad = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    await traced("server", app, { tracerProvider: provider })(rpc("server", { traceparent: bad }));
    expect(provider.spans[0]?.parent).toBeUndefined();
    expect(seen[0]?.get("traceparent")).not.toBe(bad);
    expect(parseTraceparent(seen[0]?.get("traceparent"))).toBeDefined();
  });

  it("ends a stream's span only when the response settles, with the final code", async () => {
    const provider = new MemoryTracerProvider();
    const stream = streamingResponse({ endpoint });
    const response = await traced("client", async () => stream.response, { tracerProvider: provider })(
      rpc("client"),
    );
    expect(response).toBe(stream.response);
    const span = provider.spans[0];
    await Promise.resolve();
    expect(span?.ended).toBe(false);
    stream.finish({ code: Code.ResourceExhausted, status: 200 });
    await stream.response.settled;
    await Promise.resolve();
    expect(span?.ended).toBe(true);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "resource_exhausted" });
    expect(span?.attributes).toMatchObject({
      "server.address": "10.0.0.7",
      "server.port": 15008,
      "rpc.grpc.status_code": 8,
    });
  });

  it("records a mesh error's reason and provenance and ends the span", async () => {
    const provider = new MemoryTracerProvider();
    const err = new MeshError(Code.Unavailable, "no healthy endpoint for orders (3 ejected)", {
      place: "client",
      plugin: "balancer",
      policy: "shop/orders",
    });
    const failing = traced(
      "client",
      async () => {
        throw err;
      },
      { tracerProvider: provider },
    );
    await expect(failing(rpc("client"))).rejects.toBe(err);
    const span = provider.spans[0];
    expect(span?.ended).toBe(true);
    expect(span?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: "no healthy endpoint for orders (3 ejected)",
    });
    expect(span?.attributes).toMatchObject({
      "weft.error.plugin": "balancer",
      "weft.error.policy": "shop/orders",
      "rpc.grpc.status_code": Code.Unavailable,
    });
    expect(span?.exceptions).toEqual([err]);
  });

  it("follows OpenTelemetry's rules on which codes fail a server span", async () => {
    const provider = new MemoryTracerProvider();
    const notFound = recorder(async () => settledResponse({ status: 200, code: Code.NotFound }));
    await traced("server", notFound.app, { tracerProvider: provider })(rpc("server"));
    await traced("client", notFound.app, { tracerProvider: provider })(rpc("client"));
    const internal = recorder(async () => settledResponse({ status: 200, code: Code.Internal }));
    await traced("server", internal.app, { tracerProvider: provider })(rpc("server"));
    await Promise.resolve();
    expect(provider.spans.map((s) => s.status.code)).toEqual([
      SpanStatusCode.UNSET,
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
    ]);
  });

  it("with no SDK installed, passes the incoming traceparent through unchanged and adds none", async () => {
    const { seen, app } = recorder();
    const handler = traced("sidecar-outbound", app, {});
    await handler(rpc("sidecar-outbound", { traceparent: incoming }));
    await handler(rpc("sidecar-outbound"));
    expect(seen[0]?.get("traceparent")).toBe(incoming);
    expect(seen[1]?.has("traceparent")).toBe(false);
  });

  it("still propagates and ends a span the SDK chose not to record", async () => {
    const provider = new MemoryTracerProvider({ recording: false });
    const { seen, app } = recorder();
    await traced("client", app, { tracerProvider: provider })(rpc("client", { traceparent: incoming }));
    await Promise.resolve();
    const span = provider.spans[0];
    expect(parseTraceparent(seen[0]?.get("traceparent"))?.spanId).toBe(span?.spanContext().spanId);
    expect(span?.ended).toBe(true);
    expect(span?.attributes).toEqual({});
  });

  it("uses the tracer provider an SDK registers globally, even after the plugin was created", async () => {
    const { app } = recorder();
    const handler = traced("client", app, {});
    const provider = new MemoryTracerProvider();
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    try {
      await handler(rpc("client"));
      expect(provider.spans).toHaveLength(1);
      expect(provider.spans[0]?.kind).toBe(SpanKind.CLIENT);
    } finally {
      trace.disable();
    }
  });

  it("can use the API's global propagator instead (a no-op until an SDK registers one)", async () => {
    const provider = new MemoryTracerProvider();
    const { seen, app } = recorder();
    await traced("client", app, { tracerProvider: provider, propagator: "global" })(
      rpc("client", { traceparent: incoming }),
    );
    expect(propagation.fields()).toEqual([]);
    expect(provider.spans[0]?.parent).toBeUndefined();
    expect(seen[0]?.get("traceparent")).toBe(incoming);
  });

  it("names HTTP and L4 spans by method or protocol and service", async () => {
    const provider = new MemoryTracerProvider();
    const { app } = recorder();
    const handler = traced("client", app, { tracerProvider: provider });
    await handler(
      newCall({ kind: "http", place: "client", service: "web", httpMethod: "GET", path: "/cart" }),
    );
    await handler(newCall({ kind: "tcp", place: "client", service: "postgres" }));
    expect(provider.spans.map((s) => s.name)).toEqual(["GET web", "tcp postgres"]);
  });

  it("rejects options it does not know, by name", () => {
    const ctx = pluginContext("client", new FakeClock());
    expect(() => instantiatePlugin(tracingPlugin, { sampler: 0.1 }, ctx)).toThrow(
      'plugin tracing: unknown option "sampler"',
    );
    expect(() => instantiatePlugin(tracingPlugin, { propagator: "b3" }, ctx)).toThrow("option propagator");
  });
});
