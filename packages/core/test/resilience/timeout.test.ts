import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { MeshCall } from "../../src/call/call.ts";
import type { Step } from "../../src/chain/chain.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { TimeoutPolicySchema } from "../../src/gen/weft/v1/policy_pb.js";
import { perTryTimeoutInterceptor } from "../../src/resilience/per-try-timeout.ts";
import { retryInterceptor } from "../../src/resilience/retry.ts";
import { timeoutInterceptor, timeoutOptionsFromProto, timeoutPlugin } from "../../src/resilience/timeout.ts";
import { chain, context, ok, scripted, track, transportError, unaryCall } from "./helpers.ts";

const timeoutStep = (clock: FakeClock, requestMs?: number): Step => ({
  name: "timeout",
  interceptor: timeoutInterceptor({ requestMs }, context(clock)),
});

describe("timeout step", () => {
  it("lets the shorter of the caller's header and the configured timeout win, and writes what remains", async () => {
    const clock = new FakeClock(1000);
    const app = scripted(ok());
    await chain([timeoutStep(clock, 800)], app)(unaryCall({ headers: { "grpc-timeout": "250m" } }));
    expect(app.calls[0]?.deadline).toBe(1250);
    expect(app.calls[0]?.headers.get("grpc-timeout")).toBe("250000u");
    expect(app.calls[0]?.headers.get("connect-timeout-ms")).toBe("250");

    const app2 = scripted(ok());
    await chain(
      [timeoutStep(clock, 100)],
      app2,
    )(unaryCall({ headers: { "grpc-timeout": "5S", "connect-timeout-ms": "3000" } }));
    expect(app2.calls[0]?.deadline).toBe(1100);
    expect(app2.calls[0]?.headers.get("grpc-timeout")).toBe("100000u");
    expect(app2.calls[0]?.headers.get("connect-timeout-ms")).toBe("100");

    const app3 = scripted(ok());
    const own = unaryCall();
    own.deadline = 1040;
    await chain([timeoutStep(clock, 100)], app3)(own);
    expect(app3.calls[0]?.deadline).toBe(1040);
    expect(app3.calls[0]?.headers.get("connect-timeout-ms")).toBe("40");
  });

  it("fails a call past its deadline with DeadlineExceeded and aborts the attempt's signal", async () => {
    const clock = new FakeClock();
    const app = scripted("hang");
    const call = unaryCall();
    call.route = "shop/orders-reads";
    const result = track(chain([timeoutStep(clock, 800)], app)(call));
    await clock.advance(799);
    expect(result.done).toBe(false);
    expect(app.calls[0]?.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(result.done).toBe(true);
    const err = result.error as MeshError;
    expect(err).toBeInstanceOf(MeshError);
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.reason).toBe("deadline of 800ms (request timeout) exceeded after 1 attempt");
    expect(err.provenance).toEqual({ place: "client", plugin: "timeout", policy: "shop/orders-reads" });
    expect(app.calls[0]?.signal.aborted).toBe(true);
    expect(app.calls[0]?.signal.reason).toBe(err);
    expect(call.signal.aborted).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it("names the attempts made when retries ran into the deadline, and aborts the one in flight", async () => {
    const clock = new FakeClock();
    const app = scripted(transportError("connection refused", true), "hang");
    const ctx = context(clock);
    const steps: Step[] = [
      timeoutStep(clock, 800),
      { name: "retry", interceptor: retryInterceptor({ attempts: 3, random: () => 0.5 }, ctx) },
    ];
    const result = track(chain(steps, app)(unaryCall()));
    await clock.advance(800);
    const err = result.error as MeshError;
    expect(err.reason).toBe("deadline of 800ms (request timeout) exceeded after 2 attempts");
    expect(app.calls).toHaveLength(2);
    expect(app.calls[1]?.signal.aborted).toBe(true);
    // The second attempt went out after a 12.5 ms backoff with the time then remaining.
    expect(app.calls[0]?.headers.get("connect-timeout-ms")).toBe("800");
    expect(app.calls[1]?.headers.get("connect-timeout-ms")).toBe("788");
    expect(app.calls[1]?.headers.get("grpc-timeout")).toBe("787500u");
    expect(clock.pendingTimers).toBe(0);
  });

  it("fails at once, sending nothing, when the caller's deadline has already passed", async () => {
    const clock = new FakeClock();
    const app = scripted(ok());
    const err = await chain(
      [timeoutStep(clock)],
      app,
    )(unaryCall({ headers: { "grpc-timeout": "0n" } })).catch((e) => e);
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.reason).toContain("already passed");
    expect(app.calls).toHaveLength(0);
  });

  it("passes a call with no deadline through untouched", async () => {
    const clock = new FakeClock();
    const app = scripted(ok());
    const call = unaryCall();
    await chain([timeoutStep(clock)], app)(call);
    expect(app.calls[0]).toBe(call);
    expect(call.headers.has("grpc-timeout")).toBe(false);
  });

  it("cuts a stream whose head came in time but whose body outlives the deadline", async () => {
    const clock = new FakeClock();
    let finish: () => void = () => {};
    const app = scripted(async () => ({
      ...ok(),
      // A stream: its outcome is known only once its body has ended.
      outcome: undefined,
      settled: new Promise((resolve) => {
        finish = () => resolve({ code: undefined, status: 200 });
      }),
    }));
    const res = await chain([timeoutStep(clock, 500)], app)(unaryCall());
    expect(res.status).toBe(200);
    await clock.advance(500);
    expect(app.calls[0]?.signal.aborted).toBe(true);
    finish();
  });

  it("is built from the proto and from plugin options", () => {
    expect(
      timeoutOptionsFromProto(create(TimeoutPolicySchema, { request: { seconds: 2n, nanos: 500_000_000 } })),
    ).toEqual({
      requestMs: 2500,
    });
    expect(timeoutOptionsFromProto(undefined)).toEqual({ requestMs: undefined });
    expect(timeoutPlugin.parseOptions?.({ request: "0.25s" })).toEqual({ requestMs: 250 });
    expect(() => timeoutPlugin.parseOptions?.({ request: "soon" })).toThrow(
      /plugin "timeout": invalid options: .*Duration/,
    );
  });
});

describe("per-try timeout step", () => {
  it("aborts each slow attempt after the per-try timeout and lets the retry step try again", async () => {
    const clock = new FakeClock();
    const app = scripted("hang", "hang", ok());
    const ctx = context(clock);
    const steps: Step[] = [
      timeoutStep(clock, 1000),
      {
        name: "retry",
        interceptor: retryInterceptor({ attempts: 3, backoff: { baseMs: 0, maxMs: 0 } }, ctx),
      },
      { name: "per-try-timeout", interceptor: perTryTimeoutInterceptor({ perTryMs: 100 }, ctx) },
    ];
    const result = track(chain(steps, app)(unaryCall()));
    await clock.advance(100);
    expect(app.calls).toHaveLength(2);
    const first = app.calls[0] as MeshCall;
    expect(first.signal.aborted).toBe(true);
    expect((first.signal.reason as MeshError).reason).toBe("per-try timeout of 100ms exceeded on attempt 1");
    expect(first.headers.get("connect-timeout-ms")).toBe("100");
    await clock.advance(100);
    expect(result.done).toBe(true);
    expect(result.value?.status).toBe(200);
    expect(app.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it("leaves the call's deadline in charge when it comes first", async () => {
    const clock = new FakeClock();
    const app = scripted("hang");
    const ctx = context(clock);
    const steps: Step[] = [
      timeoutStep(clock, 150),
      { name: "per-try-timeout", interceptor: perTryTimeoutInterceptor({ perTryMs: 400 }, ctx) },
    ];
    const result = track(chain(steps, app)(unaryCall()));
    await clock.advance(150);
    expect((result.error as MeshError).provenance.plugin).toBe("timeout");
    expect(app.calls[0]?.headers.get("connect-timeout-ms")).toBe("150");
  });
});
