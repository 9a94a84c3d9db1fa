import { Code } from "@connectrpc/connect";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { forkCall, type MeshCall, newCall, type Place, settledResponse } from "../../src/call/call.ts";
import { compose, type Handler, terminalStep } from "../../src/chain/chain.ts";
import { instantiatePlugin } from "../../src/chain/plugin.ts";
import { sleep } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { ERROR_HEADER, MeshError } from "../../src/errors/mesh-error.ts";
import { RETRY_COUNT } from "../../src/resilience/attributes.ts";
import { accessLogPlugin } from "../../src/telemetry/access-log-plugin.ts";
import { MeshMetrics } from "../../src/telemetry/mesh-metrics.ts";
import { endpoint, pluginContext, streamingResponse } from "./helpers.ts";

const OK = 0 as Code;

/** A pino logger writing JSON lines into an array. */
function capture() {
  const records: Record<string, unknown>[] = [];
  const logger = pino(
    { base: null, timestamp: false },
    { write: (line: string) => records.push(JSON.parse(line)) },
  );
  return { records, logger };
}

function logged(
  place: Place,
  clock: FakeClock,
  app: Handler,
  options: Record<string, unknown>,
  steps: import("../../src/chain/chain.ts").Step[] = [],
) {
  const plugin = instantiatePlugin(accessLogPlugin, options, pluginContext(place, clock));
  return compose(place, [plugin, ...steps], terminalStep("app", app));
}

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("access-log plugin", () => {
  it("writes one record per call with route, peer, endpoint, duration and attempts", async () => {
    const clock = new FakeClock();
    const { records, logger } = capture();
    const metrics = new MeshMetrics({ clock });
    // A stand-in retry step: routes the call, then makes a second attempt after 30 ms.
    const retry = {
      name: "retry",
      interceptor: (next: Handler) => async (c: MeshCall) => {
        c.route = "reads";
        await sleep(clock, 30);
        c.attributes.set(RETRY_COUNT, 1);
        const attempt = forkCall(c, { attempt: 2 });
        attempt.endpoint = endpoint;
        return next(attempt);
      },
    };
    const handler = logged(
      "client",
      clock,
      async () => {
        await sleep(clock, 12);
        return settledResponse({ status: 200, code: OK, endpoint });
      },
      { logger },
      [retry],
    );
    const pending = handler(
      newCall({
        kind: "unary",
        place: "client",
        service: "orders",
        namespace: "shop",
        method: "shop.v1.Orders/Get",
        headers: { traceparent },
      }),
    );
    await clock.advance(42);
    await pending;
    await clock.advance(0);

    expect(records).toEqual([
      {
        level: 30,
        msg: "access",
        place: "client",
        service: "orders",
        namespace: "shop",
        method: "shop.v1.Orders/Get",
        path: "/shop.v1.Orders/Get",
        http_method: "POST",
        route: "reads",
        code: "ok",
        status: 200,
        duration_ms: 42,
        attempts: 2,
        peer: "spiffe://weft.local/ns/shop/sa/orders",
        endpoint: "10.0.0.7:15008",
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      },
    ]);
  });

  it("logs a failure with its code, reason and provenance at warn", async () => {
    const clock = new FakeClock();
    const { records, logger } = capture();
    const err = new MeshError(Code.Unavailable, "no healthy endpoint for orders (3 ejected)", {
      place: "sidecar-outbound",
      plugin: "balancer",
      policy: "shop/orders",
    });
    const handler = logged(
      "sidecar-outbound",
      clock,
      async () => {
        await sleep(clock, 3);
        throw err;
      },
      { logger },
    );
    const pending = handler(
      newCall({ kind: "unary", place: "sidecar-outbound", service: "orders", method: "shop.v1.Orders/Get" }),
    ).catch((e) => e);
    await clock.advance(3);
    expect(await pending).toBe(err);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 40,
      code: "unavailable",
      status: 503,
      duration_ms: 3,
      attempts: 1,
      error: {
        reason: "no healthy endpoint for orders (3 ejected)",
        place: "sidecar-outbound",
        plugin: "balancer",
        policy: "shop/orders",
      },
    });
  });

  it("logs a stream when it settles, with a remote hop's mesh error from the weft-error header", async () => {
    const clock = new FakeClock();
    const { records, logger } = capture();
    const remote = new MeshError(Code.PermissionDenied, "no rule of authz policy shop/orders allows cart", {
      place: "sidecar-inbound",
      plugin: "authz",
      policy: "shop/orders",
    });
    const stream = streamingResponse({ headers: { [ERROR_HEADER]: remote.toHeader() } });
    const source = {
      spiffeId: "spiffe://weft.local/ns/shop/sa/cart",
      trustDomain: "weft.local",
      namespace: "shop",
      serviceAccount: "cart",
    };
    const handler = logged("server", clock, async () => stream.response, { logger });
    await handler(
      newCall({
        kind: "server_streaming",
        place: "server",
        service: "orders",
        method: "shop.v1.Orders/Watch",
        source,
      }),
    );
    await clock.advance(500);
    expect(records).toHaveLength(0);
    stream.finish({ code: Code.PermissionDenied, status: 200 });
    await clock.advance(0);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 40,
      place: "server",
      peer: "spiffe://weft.local/ns/shop/sa/cart",
      code: "permission_denied",
      duration_ms: 500,
      error: {
        reason: "no rule of authz policy shop/orders allows cart",
        place: "sidecar-inbound",
        plugin: "authz",
      },
    });
  });

  it("samples successes but logs every failure", async () => {
    const clock = new FakeClock();
    const { records, logger } = capture();
    let n = 0;
    const random = () => (n++ % 4) / 4; // 0, .25, .5, .75, ...: a quarter fall below 0.25
    const handler = logged(
      "client",
      clock,
      async (c) => settledResponse({ status: 200, code: c.headers.get("x-fail") ? Code.Internal : OK }),
      {
        logger,
        sampleSuccesses: 0.25,
        random,
      },
    );
    for (let i = 0; i < 40; i++) {
      await handler(
        newCall({
          kind: "unary",
          place: "client",
          service: "orders",
          headers: i % 5 === 0 ? { "x-fail": "1" } : {},
        }),
      );
    }
    await clock.advance(0);
    const failures = records.filter((r) => r.code === "internal");
    const successes = records.filter((r) => r.code === "ok");
    expect(failures).toHaveLength(8);
    expect(successes).toHaveLength(8);
  });

  it("writes to the plugin context's logger when none is given", async () => {
    const clock = new FakeClock();
    const { records, logger } = capture();
    const plugin = instantiatePlugin(accessLogPlugin, {}, pluginContext("client", clock, logger));
    await compose(
      "client",
      [plugin],
      terminalStep("app", async () => settledResponse({ status: 200 })),
    )(newCall({ kind: "http", place: "client", service: "web", path: "/", httpMethod: "GET" }));
    await clock.advance(0);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 30, service: "web", http_method: "GET", status: 200 });
    expect(records[0]?.code).toBeUndefined();
  });

  it("rejects bad options by name", () => {
    const ctx = pluginContext("client", new FakeClock());
    expect(() => instantiatePlugin(accessLogPlugin, { sampleSuccesses: 2 }, ctx)).toThrow(
      "sampleSuccesses must be a number from 0 to 1",
    );
    expect(() => instantiatePlugin(accessLogPlugin, { format: "json" }, ctx)).toThrow(
      'unknown option "format"',
    );
  });
});
