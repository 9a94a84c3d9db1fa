import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import type { EndpointRef } from "../../src/call/call.ts";
import { sleep } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { EndpointSet } from "../../src/endpoints/endpoint-set.ts";
import { HealthCheckSchema } from "../../src/gen/weft/v1/policy_pb.js";
import { HealthChecker, type Probe } from "../../src/health/health-checker.ts";
import { healthCheckOptionsFromProto, resolveHealthCheckOptions } from "../../src/health/options.ts";

function setup(n: number) {
  const clock = new FakeClock();
  const set = new EndpointSet({
    service: "orders",
    clock,
    endpoints: Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080 })),
  });
  return { clock, set };
}

/** A probe whose answer per endpoint the test sets, recording when each check started. */
function scriptedProbe(clock: FakeClock) {
  const answers = new Map<string, boolean | "hang" | "throw">();
  const started: { key: string; at: number }[] = [];
  const probe: Probe = (ep: EndpointRef, signal: AbortSignal) => {
    started.push({ key: ep.key, at: clock.now() });
    const answer = answers.get(ep.key) ?? true;
    if (answer === "throw") return Promise.reject(new Error("connection refused"));
    if (answer === "hang") return sleep(clock, 1e9, signal).then(() => true);
    return Promise.resolve(answer);
  };
  return { probe, answers, started };
}

describe("HealthChecker", () => {
  it("marks an endpoint unhealthy after unhealthy_threshold failures and healthy after healthy_threshold successes", async () => {
    const { clock, set } = setup(2);
    const { probe, answers } = scriptedProbe(clock);
    const changes: string[] = [];
    const checker = new HealthChecker(
      set,
      probe,
      { intervalMs: 1000, timeoutMs: 200, unhealthyThreshold: 3, healthyThreshold: 2 },
      { random: () => 0, onChange: (ep, healthy) => changes.push(`${ep.key} ${healthy}`) },
    );
    const target = set.get("10.0.0.1:8080");
    checker.start();
    answers.set("10.0.0.1:8080", false);
    await clock.advance(0); // first check (jitter 0)
    await clock.advance(1000); // second
    expect(target?.healthy).toBe(true);
    await clock.advance(1000); // third failure
    expect(target?.healthy).toBe(false);
    expect(set.view({ panicThresholdPercent: 0, zoneAware: false, localZone: "" }).endpoints).toHaveLength(1);
    answers.set("10.0.0.1:8080", true);
    await clock.advance(1000);
    expect(target?.healthy).toBe(false);
    await clock.advance(1000);
    expect(target?.healthy).toBe(true);
    expect(changes).toEqual(["10.0.0.1:8080 false", "10.0.0.1:8080 true"]);
    expect(set.get("10.0.0.2:8080")?.healthy).toBe(true);
    await checker.stop();
  });

  it("fails a probe that does not answer within the timeout, and one that rejects", async () => {
    const { clock, set } = setup(2);
    const { probe, answers } = scriptedProbe(clock);
    answers.set("10.0.0.1:8080", "hang");
    answers.set("10.0.0.2:8080", "throw");
    const checker = new HealthChecker(
      set,
      probe,
      { intervalMs: 1000, timeoutMs: 300, unhealthyThreshold: 1 },
      {
        random: () => 0,
      },
    );
    checker.start();
    await clock.advance(0);
    expect(set.get("10.0.0.2:8080")?.healthy).toBe(false);
    expect(set.get("10.0.0.1:8080")?.healthy).toBe(true);
    await clock.advance(299);
    expect(set.get("10.0.0.1:8080")?.healthy).toBe(true);
    await clock.advance(1);
    expect(set.get("10.0.0.1:8080")?.healthy).toBe(false);
    await checker.stop();
  });

  it("spreads first checks over the interval, then checks each endpoint once per interval", async () => {
    const { clock, set } = setup(3);
    const { probe, started } = scriptedProbe(clock);
    const jitter = [0.1, 0.5, 0.9];
    let i = 0;
    const checker = new HealthChecker(
      set,
      probe,
      { intervalMs: 1000, timeoutMs: 100 },
      { random: () => jitter[i++] ?? 0 },
    );
    checker.start();
    await clock.advance(2000);
    expect(started.map((s) => s.at)).toEqual([100, 500, 900, 1100, 1500, 1900]);
    await checker.stop();
  });

  it("checks endpoints that join, stops checking those that leave, and stops cleanly", async () => {
    const { clock, set } = setup(1);
    const { probe, started, answers } = scriptedProbe(clock);
    const checker = new HealthChecker(
      set,
      probe,
      { intervalMs: 1000, timeoutMs: 100, unhealthyThreshold: 1 },
      {
        random: () => 0,
      },
    );
    checker.start();
    await clock.advance(0);
    set.update([{ address: "10.0.0.2", port: 8080 }]);
    await clock.advance(2500);
    expect(new Set(started.filter((s) => s.at > 0).map((s) => s.key))).toEqual(new Set(["10.0.0.2:8080"]));
    // Stopping marks unhealthy endpoints healthy again (nothing would revive them) and
    // leaves no timer behind, even with a probe in flight.
    answers.set("10.0.0.2:8080", false);
    await clock.advance(1000);
    expect(set.get("10.0.0.2:8080")?.healthy).toBe(false);
    answers.set("10.0.0.2:8080", "hang");
    await clock.advance(1000);
    await checker.stop();
    expect(set.get("10.0.0.2:8080")?.healthy).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    const before = started.length;
    await clock.advance(10_000);
    expect(started.length).toBe(before);
  });
});

describe("health check options", () => {
  it("come from a HealthCheck message, thresholds of 0 taking the defaults", () => {
    const opts = healthCheckOptionsFromProto(
      create(HealthCheckSchema, {
        interval: create(DurationSchema, { seconds: 5n }),
        timeout: create(DurationSchema, { nanos: 250_000_000 }),
        unhealthyThreshold: 2,
        probe: { case: "httpPath", value: "/healthz" },
      }),
    );
    expect(resolveHealthCheckOptions(opts)).toEqual({
      intervalMs: 5000,
      timeoutMs: 250,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
      intervalJitterMs: 0,
    });
    expect(() => healthCheckOptionsFromProto(create(HealthCheckSchema, {}))).toThrow(
      "HealthCheck.interval is required",
    );
    expect(() => resolveHealthCheckOptions({ intervalMs: 1000, timeoutMs: 0 })).toThrow(
      /timeoutMs must be > 0/,
    );
  });
});
