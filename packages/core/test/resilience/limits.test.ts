import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { MeshResponse } from "../../src/call/call.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { circuitBreakerInterceptor } from "../../src/resilience/circuit-breaker.ts";
import { rateLimitInterceptor } from "../../src/resilience/rate-limit.ts";
import { ResilienceState } from "../../src/resilience/resilience-state.ts";
import { chain, context, ok, scripted, track, unaryCall } from "./helpers.ts";

/** A transport whose calls stay in flight until the test releases them. */
function heldOpen() {
  const release: (() => void)[] = [];
  const app = scripted(
    () =>
      new Promise<MeshResponse>((resolve) => {
        release.push(() => resolve(ok()));
      }),
  );
  return { app, release };
}

describe("circuit breaker", () => {
  it("allows exactly max concurrent requests, queues max pending, and fails fast beyond", async () => {
    const clock = new FakeClock();
    const { app, release } = heldOpen();
    const step = {
      name: "circuit-breaker",
      interceptor: circuitBreakerInterceptor(
        { maxConcurrent: 100, maxPending: 2, state: new ResilienceState(clock) },
        context(clock),
      ),
    };
    const handler = chain([step], app);
    const inFlight = Array.from({ length: 100 }, () => track(handler(unaryCall())));
    const pending = [track(handler(unaryCall())), track(handler(unaryCall()))];
    const err = await handler(unaryCall()).catch((e) => e);
    expect(app.calls).toHaveLength(100);
    expect(err).toBeInstanceOf(MeshError);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.neverSent).toBe(true);
    expect(err.reason).toBe("circuit open: 100 requests in flight to orders (max 100) and 2 waiting (max 2)");
    expect(err.provenance.plugin).toBe("circuit-breaker");

    release.shift()?.();
    await clock.advance(0);
    // The freed slot went to the oldest waiter.
    expect(app.calls).toHaveLength(101);
    expect(inFlight[0]?.value?.status).toBe(200);
    expect(pending[0]?.done).toBe(false);
    for (const r of release.splice(0)) r();
    await clock.advance(0);
    for (const r of release.splice(0)) r();
    await clock.advance(0);
    expect(app.calls).toHaveLength(102);
    expect(pending.every((p) => p.value?.status === 200)).toBe(true);
  });

  it("with no pending allowed, takes exactly the limit and frees a slot when a call fails", async () => {
    const clock = new FakeClock();
    let n = 0;
    const app = scripted(() =>
      n++ === 0
        ? Promise.reject(
            new MeshError(Code.Internal, "boom", { place: "client", plugin: "transport", policy: "" }),
          )
        : new Promise<MeshResponse>(() => {}),
    );
    const step = {
      name: "circuit-breaker",
      interceptor: circuitBreakerInterceptor(
        { maxConcurrent: 3, maxPending: 0, state: new ResilienceState(clock) },
        context(clock),
      ),
    };
    const handler = chain([step], app);
    const results = Array.from({ length: 5 }, () => track(handler(unaryCall())));
    await clock.advance(0);
    const refused = results.filter((r) =>
      (r.error as MeshError | undefined)?.reason?.startsWith("circuit open"),
    );
    expect(refused).toHaveLength(2);
    expect(refused[0]?.error && (refused[0].error as MeshError).reason).toBe(
      "circuit open: 3 requests in flight to orders (max 3)",
    );
    // The failed call gave its slot back: one more fits, then none.
    track(handler(unaryCall()));
    const over = await handler(unaryCall()).catch((e) => e);
    expect(over.code).toBe(Code.Unavailable);
    expect(app.calls).toHaveLength(4);
  });
});

describe("rate limit", () => {
  it("allows exactly the burst, then requests_per_second as the bucket refills on the clock", async () => {
    const clock = new FakeClock();
    const app = scripted(ok());
    const step = {
      name: "rate-limit",
      interceptor: rateLimitInterceptor(
        { requestsPerSecond: 3, burst: 5, state: new ResilienceState(clock) },
        context(clock),
      ),
    };
    const handler = chain([step], app);
    const burst = async (n: number) => {
      let allowed = 0;
      let last: MeshError | undefined;
      for (let i = 0; i < n; i++) {
        await handler(unaryCall()).then(
          () => allowed++,
          (e) => {
            last = e;
          },
        );
      }
      return { allowed, last };
    };
    const first = await burst(10);
    expect(first.allowed).toBe(5);
    expect(first.last?.code).toBe(Code.ResourceExhausted);
    expect(first.last?.neverSent).toBe(true);
    expect(first.last?.reason).toBe(
      "rate limit of 3 requests/s (burst 5) exceeded for orders; next token in 334ms",
    );
    await clock.advance(333);
    expect((await burst(2)).allowed).toBe(0);
    await clock.advance(1);
    expect((await burst(2)).allowed).toBe(1);
    await clock.advance(666);
    expect((await burst(5)).allowed).toBe(2);
    await clock.advance(10_000);
    expect((await burst(10)).allowed).toBe(5);
  });

  it("shares one bucket among chains for the same service, and uses one second's worth when burst is 0", async () => {
    const clock = new FakeClock();
    const state = new ResilienceState(clock);
    const app = scripted(ok());
    const make = () =>
      chain(
        [
          {
            name: "rate-limit",
            interceptor: rateLimitInterceptor({ requestsPerSecond: 4, burst: 0, state }, context(clock)),
          },
        ],
        app,
      );
    const a = make();
    const b = make();
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b)(unaryCall()).then(
          () => true,
          () => false,
        ),
      ),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(4);
  });
});
