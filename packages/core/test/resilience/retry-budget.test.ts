import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { ResilienceState } from "../../src/resilience/resilience-state.ts";
import { retryInterceptor } from "../../src/resilience/retry.ts";
import {
  RETRY_BUDGET_BUCKETS,
  type RetryBudgetOptions,
  RetryBudgetWindow,
} from "../../src/resilience/retry-budget.ts";
import { chain, context, scripted, transportError, unaryCall } from "./helpers.ts";

const ATTEMPTS = 10;

/**
 * Sends one request at each of `times` (ms, ascending) through a retry step whose every
 * attempt fails, and returns when each attempt was made.
 */
async function underTotalFailure(budget: RetryBudgetOptions, times: number[]) {
  const clock = new FakeClock();
  const state = new ResilienceState(clock);
  // Made at t=0 so its buckets start at 0; the step finds it under the service's key.
  state.budget("client|shop/orders", budget);
  const app = scripted(transportError("upstream unavailable"));
  const step = {
    name: "retry",
    interceptor: retryInterceptor(
      { attempts: ATTEMPTS, backoff: { baseMs: 0, maxMs: 0 }, budget, state },
      context(clock),
    ),
  };
  const handler = chain([step], app);
  const attempts: { at: number; retry: boolean }[] = [];
  for (const t of times) {
    await clock.advance(t - clock.now());
    const before = app.calls.length;
    await handler(unaryCall()).catch(() => {});
    for (let i = before; i < app.calls.length; i++) {
      attempts.push({ at: clock.now(), retry: (app.calls[i]?.attempt ?? 1) > 1 });
    }
  }
  return attempts;
}

const budgetArb = fc.record({
  ratio: fc.double({ min: 0, max: 1, noNaN: true }),
  minRetriesPerSecond: fc.integer({ min: 0, max: 20 }),
  windowMs: fc.integer({ min: 1, max: 20 }).map((s) => s * 1000),
});

describe("retry budget", () => {
  it("keeps retries within ratio * requests + min_retries_per_second * window, and close to it, under 100% failures (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        budgetArb,
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        async (budget, requests, seed) => {
          // Random arrival times within one window: a random request rate.
          let s = seed;
          const times = Array.from({ length: requests }, () => {
            s = (s * 1103515245 + 12345) % 2147483648;
            return Math.floor((s / 2147483648) * (budget.windowMs - 1));
          }).sort((a, b) => a - b);
          const attempts = await underTotalFailure(budget, times);
          const retries = attempts.filter((a) => a.retry).length;
          const allowed = budget.ratio * requests + budget.minRetriesPerSecond * (budget.windowMs / 1000);
          expect(retries).toBeLessThanOrEqual(allowed + 1e-9);
          expect(retries).toBeGreaterThanOrEqual(
            Math.min((ATTEMPTS - 1) * requests, Math.floor(allowed + 1e-9) - 1),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it("holds in every window as it slides over changing request rates (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        budgetArb,
        // Per second of a 30 s run: how many requests arrive, evenly spread.
        fc.array(fc.integer({ min: 0, max: 25 }), { minLength: 30, maxLength: 30 }),
        async (budget, perSecond) => {
          const times = perSecond.flatMap((n, sec) =>
            Array.from({ length: n }, (_, i) => sec * 1000 + Math.floor((i * 1000) / n)),
          );
          const attempts = await underTotalFailure(budget, times);
          const bucket = budget.windowMs / RETRY_BUDGET_BUCKETS;
          const reserve = budget.minRetriesPerSecond * (budget.windowMs / 1000);
          for (const a of attempts) {
            if (!a.retry) continue;
            // The budget's window at this retry: its bucket and the nine before it.
            const from = (Math.floor(a.at / bucket) - (RETRY_BUDGET_BUCKETS - 1)) * bucket;
            const inWindow = attempts.filter((b) => b.at >= from && b.at <= a.at);
            const retries = inWindow.filter((b) => b.retry).length;
            const requests = inWindow.length - retries;
            expect(retries).toBeLessThanOrEqual(budget.ratio * requests + reserve + 1e-9);
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it("lets retries track the ratio at a steady rate over a long run", async () => {
    const budget = { ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000 };
    // 50 requests/s for 60 s.
    const times = Array.from({ length: 3000 }, (_, i) => i * 20);
    const attempts = await underTotalFailure(budget, times);
    const retries = attempts.filter((a) => a.retry).length;
    expect(retries / 3000).toBeGreaterThan(0.19);
    expect(retries / 3000).toBeLessThanOrEqual(0.2);
  });

  it("forgets requests and retries once they leave the window", async () => {
    const clock = new FakeClock();
    const b = new RetryBudgetWindow({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1000 }, clock);
    b.recordRequest();
    expect(b.tryRetry()).toBe(true);
    expect(b.tryRetry()).toBe(false);
    await clock.advance(999);
    expect(b.counts).toEqual({ requests: 1, retries: 1 });
    await clock.advance(1);
    expect(b.counts).toEqual({ requests: 0, retries: 0 });
    expect(b.tryRetry()).toBe(false);
    expect(b.describe()).toBe("100% of 0 requests/1s");
  });
});
