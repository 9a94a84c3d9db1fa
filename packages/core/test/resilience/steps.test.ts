import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import {
  CircuitBreakerSchema,
  FaultInjectionSchema,
  HedgingPolicySchema,
  RateLimitSchema,
  RetryPolicySchema,
  TimeoutPolicySchema,
} from "../../src/gen/weft/v1/policy_pb.js";
import { ResilienceState } from "../../src/resilience/resilience-state.ts";
import { resilienceSteps } from "../../src/resilience/steps.ts";
import { chain, context, ok, scripted, track, transportError, unaryCall } from "./helpers.ts";

const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1e6 });

const everything = {
  timeout: create(TimeoutPolicySchema, { request: ms(800) }),
  fault: create(FaultInjectionSchema, { abortHttpStatus: 503, abortPercent: 1 }),
  rateLimit: create(RateLimitSchema, { requestsPerSecond: 100 }),
  retry: create(RetryPolicySchema, { attempts: 3, perTryTimeout: ms(200) }),
  hedging: create(HedgingPolicySchema, { maxAttempts: 2, delay: ms(50) }),
  circuitBreaker: create(CircuitBreakerSchema, { maxConcurrentRequests: 100 }),
};

describe("resilienceSteps", () => {
  it("returns the configured steps in the documented order", () => {
    const clock = new FakeClock();
    const names = resilienceSteps(everything, context(clock)).map((s) => s.name);
    expect(names).toEqual([
      "timeout",
      "fault",
      "rate-limit",
      "hedging",
      "circuit-breaker",
      "per-try-timeout",
    ]);
    const { hedging: _, ...noHedging } = everything;
    expect(resilienceSteps(noHedging, context(clock)).map((s) => s.name)).toContain("retry");
  });

  it("leaves out what is not configured, and what does not run at the place", () => {
    const clock = new FakeClock();
    expect(resilienceSteps({}, context(clock), { propagateDeadlines: false })).toEqual([]);
    // Caller deadlines are honoured and forwarded even with no timeout configured.
    expect(resilienceSteps({}, context(clock)).map((s) => s.name)).toEqual(["timeout"]);
    const idle = {
      retry: create(RetryPolicySchema, { attempts: 1 }),
      hedging: create(HedgingPolicySchema, { maxAttempts: 1 }),
      fault: create(FaultInjectionSchema, { abortHttpStatus: 503 }),
      circuitBreaker: create(CircuitBreakerSchema, {}),
    };
    expect(resilienceSteps(idle, context(clock), { propagateDeadlines: false })).toEqual([]);
    const inbound = resilienceSteps(everything, context(clock, "sidecar-inbound")).map((s) => s.name);
    expect(inbound).toEqual(["timeout", "fault", "rate-limit"]);
  });

  it("composes into a working chain: retries under the timeout, budget shared through the state", async () => {
    const clock = new FakeClock();
    const state = new ResilienceState(clock);
    const policies = {
      timeout: create(TimeoutPolicySchema, { request: ms(800) }),
      retry: create(RetryPolicySchema, {
        attempts: 3,
        backoff: { base: ms(10), max: ms(100) },
        budget: { ratio: 1, minRetriesPerSecond: 0, window: ms(10_000) },
      }),
    };
    const app = scripted(transportError("unavailable"), ok());
    const handler = chain(resilienceSteps(policies, context(clock), { state, random: () => 0.5 }), app);
    const result = track(handler(unaryCall()));
    await clock.advance(5);
    expect(result.value?.status).toBe(200);
    expect(app.calls).toHaveLength(2);
    expect(app.calls[1]?.headers.get("connect-timeout-ms")).toBe("795");
  });
});
