import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { settledResponse } from "../../src/call/call.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { RetryOn, RetryPolicySchema } from "../../src/gen/weft/v1/policy_pb.js";
import { RETRY_BUDGET_EXHAUSTED, RETRY_COUNT } from "../../src/resilience/attributes.ts";
import { backoffDelay } from "../../src/resilience/backoff.ts";
import { ResilienceState } from "../../src/resilience/resilience-state.ts";
import {
  type RetryOptions,
  retryInterceptor,
  retryOptionsFromProto,
  retryPlugin,
} from "../../src/resilience/retry.ts";
import { chain, context, ok, scripted, track, transportError, unaryCall } from "./helpers.ts";

const noBackoff = { baseMs: 0, maxMs: 0 };
const retryStep = (clock: FakeClock, options: RetryOptions) => ({
  name: "retry",
  interceptor: retryInterceptor(options, context(clock)),
});

describe("retry", () => {
  it("retries an idempotent call on a retryable failure, each attempt a fork with its own signal", async () => {
    const clock = new FakeClock();
    const app = scripted(
      transportError("upstream unavailable"),
      transportError("upstream unavailable"),
      ok(),
    );
    const call = unaryCall();
    const res = await chain([retryStep(clock, { attempts: 3, backoff: noBackoff })], app)(call);
    expect(res.status).toBe(200);
    expect(app.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(new Set(app.calls.map((c) => c.signal)).size).toBe(3);
    expect(app.calls.every((c) => c !== call && c.signal !== call.signal)).toBe(true);
    expect(call.attributes.get(RETRY_COUNT)).toBe(2);
  });

  it("does not retry a non-idempotent call that may have reached the server", async () => {
    const clock = new FakeClock();
    const app = scripted(transportError("upstream unavailable"), ok());
    const err = await chain(
      [retryStep(clock, { attempts: 3, backoff: noBackoff })],
      app,
    )(unaryCall({ idempotent: false })).catch((e) => e);
    expect(err.reason).toBe("upstream unavailable");
    expect(app.calls).toHaveLength(1);
  });

  it("retries a non-idempotent call on a connect failure, which never sent it", async () => {
    const clock = new FakeClock();
    const app = scripted(transportError("connect ECONNREFUSED 10.0.0.7:15008", true), ok());
    const res = await chain(
      [retryStep(clock, { attempts: 3, backoff: noBackoff })],
      app,
    )(unaryCall({ idempotent: false }));
    expect(res.status).toBe(200);
    expect(app.calls).toHaveLength(2);
  });

  it("retries a non-idempotent call that may have been sent when the policy says so", async () => {
    const clock = new FakeClock();
    const app = scripted(transportError("upstream unavailable"), ok());
    const step = retryStep(clock, { attempts: 2, backoff: noBackoff, retryNonIdempotent: true });
    expect((await chain([step], app)(unaryCall({ idempotent: false }))).status).toBe(200);
  });

  it("never retries a body that cannot be replayed", async () => {
    const clock = new FakeClock();
    const app = scripted(transportError("refused", true), ok());
    const err = await chain(
      [retryStep(clock, { attempts: 3, backoff: noBackoff })],
      app,
    )(unaryCall({ replayable: false })).catch((e) => e);
    expect(err).toBeInstanceOf(MeshError);
    expect(app.calls).toHaveLength(1);
  });

  it("does not retry failures outside retry_on", async () => {
    const clock = new FakeClock();
    const denied = new MeshError(Code.PermissionDenied, "denied", {
      place: "client",
      plugin: "authz",
      policy: "",
    });
    const app = scripted(denied, ok());
    const err = await chain([retryStep(clock, { attempts: 3 })], app)(unaryCall()).catch((e) => e);
    expect(err).toBe(denied);
    expect(app.calls).toHaveLength(1);
  });

  it("judges responses by status and code, and returns the last failure response when attempts run out", async () => {
    const clock = new FakeClock();
    const app = scripted(
      settledResponse({ status: 503 }),
      settledResponse({ status: 200, code: Code.Unavailable }),
      settledResponse({ status: 502 }),
    );
    const step = retryStep(clock, {
      attempts: 3,
      backoff: noBackoff,
      retryOn: [RetryOn.RETRY_ON_5XX],
    });
    const res = await chain([step], app)(unaryCall());
    expect(res.status).toBe(502);
    expect(app.calls).toHaveLength(3);
    // Earlier failure responses are dropped: their attempts are cancelled.
    expect(app.calls[0]?.signal.aborted).toBe(true);
    expect(app.calls[2]?.signal.aborted).toBe(false);

    const only503 = scripted(settledResponse({ status: 502 }), ok());
    const r = await chain(
      [retryStep(clock, { attempts: 3, retryOn: [RetryOn.RETRY_ON_503] })],
      only503,
    )(unaryCall());
    expect(r.status).toBe(502);
  });

  it("sleeps its backoff on the clock", async () => {
    const clock = new FakeClock();
    const app = scripted(transportError("unavailable"), transportError("unavailable"), ok());
    const step = retryStep(clock, { attempts: 3, backoff: { baseMs: 100, maxMs: 1000 }, random: () => 0.5 });
    const result = track(chain([step], app)(unaryCall()));
    await clock.advance(0);
    expect(app.calls).toHaveLength(1);
    await clock.advance(49);
    expect(app.calls).toHaveLength(1);
    await clock.advance(1); // 0.5 * 100
    expect(app.calls).toHaveLength(2);
    await clock.advance(99);
    expect(app.calls).toHaveLength(2);
    await clock.advance(1); // 0.5 * 200
    expect(app.calls).toHaveLength(3);
    expect(result.value?.status).toBe(200);
  });

  it("stops when the caller goes away during a backoff", async () => {
    const clock = new FakeClock();
    const caller = new AbortController();
    const app = scripted(transportError("unavailable"), ok());
    const step = retryStep(clock, { attempts: 3, backoff: { baseMs: 100, maxMs: 100 }, random: () => 0.9 });
    const result = track(chain([step], app)(unaryCall({ signal: caller.signal })));
    await clock.advance(10);
    caller.abort(new DOMException("client went away", "AbortError"));
    await clock.advance(0);
    expect((result.error as MeshError).code).toBe(Code.Canceled);
    expect(app.calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("returns the last error noting the exhausted budget", async () => {
    const clock = new FakeClock();
    const state = new ResilienceState(clock);
    const app = scripted(transportError("upstream unavailable"));
    const step = retryStep(clock, {
      attempts: 5,
      backoff: noBackoff,
      budget: { ratio: 0.5, minRetriesPerSecond: 0, windowMs: 10_000 },
      state,
    });
    const handler = chain([step], app);
    const call = unaryCall();
    const err = await handler(call).catch((e) => e);
    // One request earns half a retry: none may be taken.
    expect(app.calls).toHaveLength(1);
    expect(err.reason).toBe("upstream unavailable; retry budget exhausted (50% of 1 requests/10s)");
    expect(err.code).toBe(Code.Unavailable);
    expect(call.attributes.get(RETRY_BUDGET_EXHAUSTED)).toBe("50% of 1 requests/10s");
    await handler(unaryCall()).catch(() => {});
    // Two requests earn one retry.
    expect(app.calls).toHaveLength(3);
  });

  it("is built from the proto and from plugin options", () => {
    const policy = create(RetryPolicySchema, {
      attempts: 3,
      perTryTimeout: { seconds: 0n, nanos: 200_000_000 },
      backoff: { base: { seconds: 0n, nanos: 50_000_000 }, max: { seconds: 1n, nanos: 0 } },
      retryOn: [RetryOn.RETRY_ON_UNAVAILABLE],
      budget: { ratio: 0.2, minRetriesPerSecond: 10, window: { seconds: 10n, nanos: 0 } },
    });
    expect(retryOptionsFromProto(policy)).toEqual({
      attempts: 3,
      perTryTimeoutMs: 200,
      backoff: { baseMs: 50, maxMs: 1000 },
      retryOn: [RetryOn.RETRY_ON_UNAVAILABLE],
      budget: { ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 },
      retryNonIdempotent: false,
    });
    expect(retryPlugin.parseOptions?.({ attempts: 2, retryOn: ["RETRY_ON_5XX"] })).toMatchObject({
      attempts: 2,
      retryOn: [RetryOn.RETRY_ON_5XX],
    });
    expect(() => retryPlugin.parseOptions?.({ atempts: 2 })).toThrow(/plugin "retry".*atempts/);
  });
});

describe("backoff", () => {
  it("stays within [0, min(max, base * 2^(n-1))] and its ceiling grows exponentially (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, baseMs, maxMs, r) => {
          const d = backoffDelay(retry, { baseMs, maxMs }, () => r);
          const ceiling = Math.min(maxMs, baseMs * 2 ** (retry - 1));
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(ceiling);
          // The highest draw approaches the ceiling, which doubles until it meets max.
          expect(backoffDelay(retry + 1, { baseMs, maxMs }, () => 1)).toBe(Math.min(maxMs, 2 * ceiling));
        },
      ),
    );
  });

  it("is full jitter: uniform draws spread over the whole range", () => {
    let seed = 0;
    const draws = Array.from({ length: 1000 }, () =>
      backoffDelay(4, { baseMs: 10, maxMs: 1000 }, () => (seed++ % 1000) / 1000),
    );
    expect(Math.min(...draws)).toBe(0);
    expect(Math.max(...draws)).toBeCloseTo(79.92);
  });
});
