import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { settledResponse } from "../../src/call/call.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import type { MeshError } from "../../src/errors/mesh-error.ts";
import { RetryOn } from "../../src/gen/weft/v1/policy_pb.js";
import { RETRY_COUNT } from "../../src/resilience/attributes.ts";
import { type HedgingOptions, hedgingInterceptor } from "../../src/resilience/hedging.ts";
import { ResilienceState } from "../../src/resilience/resilience-state.ts";
import { retryInterceptor } from "../../src/resilience/retry.ts";
import { type Behaviour, chain, context, ok, scripted, track, transportError, unaryCall } from "./helpers.ts";

const later = (clock: FakeClock, ms: number, b: () => Behaviour) => async () => {
  await new Promise<void>((r) => clock.setTimeout(r, ms));
  const v = b();
  if (v instanceof Error) throw v;
  return v as ReturnType<typeof ok>;
};

const hedge = (clock: FakeClock, options: HedgingOptions) => ({
  name: "hedging",
  interceptor: hedgingInterceptor(options, context(clock)),
});

describe("hedging", () => {
  it("sends another attempt after the delay, takes the first answer and cancels the slower ones", async () => {
    const clock = new FakeClock();
    const slow = settledResponse({ status: 200, body: "slow" });
    const fast = settledResponse({ status: 200, body: "fast" });
    const app = scripted(
      later(clock, 500, () => slow),
      later(clock, 50, () => fast),
      "hang",
    );
    const call = unaryCall();
    const result = track(chain([hedge(clock, { maxAttempts: 3, delayMs: 100 })], app)(call));
    await clock.advance(99);
    expect(app.calls).toHaveLength(1);
    await clock.advance(1);
    expect(app.calls).toHaveLength(2);
    await clock.advance(50);
    expect(result.value?.body).toBe("fast");
    expect(app.calls).toHaveLength(2);
    expect(app.calls[0]?.signal.aborted).toBe(true);
    const reason = app.calls[0]?.signal.reason as MeshError;
    expect(reason.reason).toBe("hedged attempt cancelled: attempt 2 answered first");
    expect(app.calls[1]?.signal.aborted).toBe(false);
    expect(call.attributes.get(RETRY_COUNT)).toBe(1);
    await clock.advance(1000);
    expect(app.calls).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it("keeps at most max_attempts attempts and returns the first answer even if late", async () => {
    const clock = new FakeClock();
    const app = scripted(
      later(clock, 1000, () => ok()),
      "hang",
      "hang",
      "hang",
    );
    const result = track(chain([hedge(clock, { maxAttempts: 3, delayMs: 100 })], app)(unaryCall()));
    await clock.advance(1000);
    expect(app.calls).toHaveLength(3);
    expect(result.value?.status).toBe(200);
    expect(app.calls[1]?.signal.aborted).toBe(true);
    expect(app.calls[2]?.signal.aborted).toBe(true);
  });

  it("sends the next hedge at once after a non-fatal failure, and takes a fatal one as the answer", async () => {
    const clock = new FakeClock();
    const app = scripted(
      transportError("unavailable"),
      later(clock, 10, () => ok()),
    );
    const step = hedge(clock, { maxAttempts: 3, delayMs: 100, retryOn: [RetryOn.RETRY_ON_UNAVAILABLE] });
    const result = track(chain([step], app)(unaryCall()));
    await clock.advance(0);
    expect(app.calls).toHaveLength(2);
    await clock.advance(10);
    expect(result.value?.status).toBe(200);

    const fatal = scripted(transportError("unavailable"), ok());
    const r = track(chain([hedge(clock, { maxAttempts: 3, delayMs: 100 })], fatal)(unaryCall()));
    await clock.advance(0);
    expect((r.error as MeshError).code).toBe(Code.Unavailable);
    expect(fatal.calls).toHaveLength(1);
  });

  it("does not hedge a non-idempotent call (the fallback retry handles it)", async () => {
    const clock = new FakeClock();
    const app = scripted(later(clock, 500, () => ok()));
    const ctx = context(clock);
    const step = {
      name: "hedging",
      interceptor: hedgingInterceptor(
        { maxAttempts: 3, delayMs: 100, fallback: retryInterceptor({ attempts: 3 }, ctx) },
        ctx,
      ),
    };
    const result = track(chain([step], app)(unaryCall({ idempotent: false })));
    await clock.advance(500);
    expect(result.value?.status).toBe(200);
    expect(app.calls).toHaveLength(1);
  });

  it("counts hedged attempts against the retry budget", async () => {
    const clock = new FakeClock();
    const state = new ResilienceState(clock);
    const budget = { ratio: 0, minRetriesPerSecond: 1, windowMs: 1000 };
    const step = hedge(clock, { maxAttempts: 3, delayMs: 10, budget, state });
    const app = scripted(later(clock, 100, () => ok()));
    const result = track(chain([step], app)(unaryCall()));
    await clock.advance(100);
    // The budget holds one retry a second: one hedge, not two.
    expect(app.calls).toHaveLength(2);
    expect(result.value?.status).toBe(200);
  });
});
