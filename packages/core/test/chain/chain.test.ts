import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { forkCall, newCall, settledResponse } from "../../src/call/call.ts";
import { compose, type Interceptor, terminalStep } from "../../src/chain/chain.ts";
import { definePlugin, instantiatePlugin, runsIn, silentLogger } from "../../src/chain/plugin.ts";
import { sleep } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { ERROR_HEADER, MeshError } from "../../src/errors/mesh-error.ts";

const ok = terminalStep("app", async () => settledResponse({ status: 200 }));
const call = () =>
  newCall({ kind: "unary", place: "client", service: "orders", method: "shop.v1.Orders/Get" });

describe("compose", () => {
  it("runs steps outermost first and lets each change the call and see the response", async () => {
    const seen: string[] = [];
    const step =
      (name: string): Interceptor =>
      (next) =>
      async (c) => {
        seen.push(`in:${name}`);
        c.headers.append("x-steps", name);
        const r = await next(c);
        seen.push(`out:${name}`);
        return r;
      };
    let headersAtApp = "";
    const app = terminalStep("app", async (c) => {
      headersAtApp = c.headers.get("x-steps") ?? "";
      return settledResponse({ status: 200 });
    });
    const handler = compose(
      "client",
      [
        { name: "a", interceptor: step("a") },
        { name: "b", interceptor: step("b") },
      ],
      app,
    );
    await handler(call());
    expect(seen).toEqual(["in:a", "in:b", "out:b", "out:a"]);
    expect(headersAtApp).toBe("a, b");
  });

  it("turns a plain error into a MeshError naming the step that threw", async () => {
    const broken: Interceptor = () => async () => {
      throw new TypeError("cannot read quota");
    };
    const handler = compose("sidecar-inbound", [{ name: "quota", interceptor: broken }], ok);
    const err = await handler(call()).catch((e) => e);
    expect(err).toBeInstanceOf(MeshError);
    expect(err.code).toBe(Code.Internal);
    expect(err.provenance).toEqual({ place: "sidecar-inbound", plugin: "quota", policy: "" });
    expect(err.reason).toBe("cannot read quota");
  });

  it("passes a MeshError through untouched, whichever step it crosses", async () => {
    const original = new MeshError(Code.Unavailable, "no healthy endpoint for orders (3 ejected)", {
      place: "client",
      plugin: "balancer",
      policy: "",
    });
    const failing = terminalStep("transport", async () => {
      throw original;
    });
    const passThrough: Interceptor = (next) => (c) => next(c);
    const handler = compose("client", [{ name: "retry", interceptor: passThrough }], failing);
    await expect(handler(call())).rejects.toBe(original);
  });
});

describe("MeshError", () => {
  it("carries code, reason and provenance through the weft-error header", () => {
    const e = new MeshError(Code.ResourceExhausted, "retry budget exhausted; 20% of 50 requests", {
      place: "sidecar-outbound",
      plugin: "retry",
      policy: "shop/inventory-reads",
    });
    expect(e.httpStatus).toBe(429);
    const back = MeshError.fromHeader(e.toHeader());
    expect(back?.code).toBe(Code.ResourceExhausted);
    expect(back?.reason).toBe(e.reason);
    expect(back?.provenance).toEqual(e.provenance);
    expect(ERROR_HEADER).toBe("weft-error");
    expect(MeshError.fromHeader("garbage")).toBeUndefined();
  });
});

describe("plugins", () => {
  it("are made from a definition with parsed options and run only where they belong", async () => {
    const addHeader = definePlugin<{ value: string }>({
      name: "tenant",
      places: ["client", "sidecar-outbound"],
      parseOptions(raw) {
        if (typeof raw.value !== "string") throw new Error('option "value" must be a string');
        return { value: raw.value };
      },
      create: (options) => (next) => (c) => {
        c.headers.set("x-tenant", options.value);
        return next(c);
      },
    });
    const ctx = {
      place: "client" as const,
      clock: new FakeClock(),
      service: "web",
      namespace: "shop",
      log: silentLogger,
    };
    expect(() => instantiatePlugin(addHeader, { value: 3 }, ctx)).toThrow('option "value" must be a string');
    const plugin = instantiatePlugin(addHeader, { value: "acme" }, ctx);
    expect(runsIn(plugin, "client")).toBe(true);
    expect(runsIn(plugin, "server")).toBe(false);
    let tenant: string | null = null;
    const app = terminalStep("app", async (c) => {
      tenant = c.headers.get("x-tenant");
      return settledResponse({ status: 200 });
    });
    await compose("client", [plugin], app)(call());
    expect(tenant).toBe("acme");
  });
});

describe("forkCall", () => {
  it("gives an attempt its own headers, signal and endpoint but shares attributes", () => {
    const original = call();
    original.attributes.set("k", 1);
    original.endpoint = { key: "10.0.0.1:15008", address: "10.0.0.1", port: 15008, zone: "a", identity: "" };
    const controller = new AbortController();
    const attempt = forkCall(original, { attempt: 2, signal: controller.signal });
    attempt.headers.set("x-attempt", "2");
    expect(original.headers.has("x-attempt")).toBe(false);
    expect(attempt.endpoint).toBeUndefined();
    expect(attempt.attempt).toBe(2);
    expect(attempt.attributes).toBe(original.attributes);
    controller.abort();
    expect(original.signal.aborted).toBe(false);
  });
});

describe("FakeClock", () => {
  it("runs timers in time order only when advanced, and sleep honours abort", async () => {
    const clock = new FakeClock(1000);
    const order: number[] = [];
    clock.setTimeout(() => order.push(2), 20);
    clock.setTimeout(() => order.push(1), 10);
    const cancelled = clock.setTimeout(() => order.push(99), 15);
    clock.clearTimeout(cancelled);
    await clock.advance(9);
    expect(order).toEqual([]);
    await clock.advance(11);
    expect(order).toEqual([1, 2]);
    expect(clock.now()).toBe(1020);

    const controller = new AbortController();
    const slept = sleep(clock, 1000, controller.signal);
    controller.abort(new Error("caller left"));
    await expect(slept).rejects.toThrow("caller left");
    expect(clock.pendingTimers).toBe(0);
  });
});
