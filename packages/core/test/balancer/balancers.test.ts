import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createBalancer } from "../../src/balancer/create.ts";
import { LeastRequestBalancer } from "../../src/balancer/least-request.ts";
import { RoundRobinBalancer } from "../../src/balancer/round-robin.ts";
import { WeightedRandomBalancer } from "../../src/balancer/weighted-random.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { call, endpoints, makeSet, seeded, tally } from "./helpers.ts";

describe("round robin", () => {
  it("rotates through equal endpoints in order", () => {
    const set = makeSet(endpoints(3));
    const rr = new RoundRobinBalancer();
    const keys = Array.from({ length: 6 }, () => rr.pick(call(), set.view())?.key);
    expect(keys).toEqual([
      "10.0.0.1:8080",
      "10.0.0.2:8080",
      "10.0.0.3:8080",
      "10.0.0.1:8080",
      "10.0.0.2:8080",
      "10.0.0.3:8080",
    ]);
  });

  it("interleaves a heavy endpoint's turns smoothly, as nginx does (weights 5, 1, 1)", () => {
    const set = makeSet(endpoints(3, (i) => ({ weight: i === 0 ? 5 : 1 })));
    const rr = new RoundRobinBalancer();
    const names = new Map([
      ["10.0.0.1:8080", "a"],
      ["10.0.0.2:8080", "b"],
      ["10.0.0.3:8080", "c"],
    ]);
    const seq = Array.from({ length: 7 }, () => names.get(rr.pick(call(), set.view())?.key ?? ""));
    expect(seq.join(" ")).toBe("a a b a c a a");
  });

  it("gives every endpoint exactly its weight in each cycle of total-weight picks (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 8 }), (weights) => {
        const set = makeSet(endpoints(weights.length, (i) => ({ weight: weights[i] })));
        const rr = new RoundRobinBalancer();
        const total = weights.reduce((a, b) => a + b, 0);
        const counts = tally(Array.from({ length: total * 3 }, () => rr.pick(call(), set.view())?.key));
        set.all.forEach((ep, i) => {
          expect(counts.get(ep.key)).toBe((weights[i] ?? 0) * 3);
        });
      }),
      { seed: 1, numRuns: 200 },
    );
  });
});

describe("weighted random", () => {
  it("draws endpoints in proportion to weight (within 1 percentage point over 40k picks)", () => {
    const set = makeSet(endpoints(3, (i) => ({ weight: [1, 3, 6][i] })));
    const wr = new WeightedRandomBalancer(seeded(42));
    const n = 40_000;
    const counts = tally(Array.from({ length: n }, () => wr.pick(call(), set.view())?.key));
    expect(Math.abs((counts.get("10.0.0.1:8080") ?? 0) / n - 0.1)).toBeLessThan(0.01);
    expect(Math.abs((counts.get("10.0.0.2:8080") ?? 0) / n - 0.3)).toBeLessThan(0.01);
    expect(Math.abs((counts.get("10.0.0.3:8080") ?? 0) / n - 0.6)).toBeLessThan(0.01);
  });

  it("spreads evenly over equal weights", () => {
    const set = makeSet(endpoints(4));
    const wr = new WeightedRandomBalancer(seeded(7));
    const counts = tally(Array.from({ length: 40_000 }, () => wr.pick(call(), set.view())?.key));
    for (const c of counts.values()) expect(Math.abs(c / 40_000 - 0.25)).toBeLessThan(0.01);
  });
});

describe("least request", () => {
  it("always prefers the idle endpoint of two", () => {
    const set = makeSet(endpoints(2));
    const busy = set.all[0];
    if (!busy) throw new Error("no endpoint");
    for (let i = 0; i < 3; i++) set.onStart(busy);
    const lr = new LeastRequestBalancer(seeded(3));
    const counts = tally(Array.from({ length: 1000 }, () => lr.pick(call(), set.view())?.key));
    expect(counts.get("10.0.0.2:8080")).toBe(1000);
  });

  it("sends the idle endpoint of three every pick it is drawn for (2/3 of picks), the busy ones the rest", () => {
    const set = makeSet(endpoints(3));
    for (const ep of set.all.slice(0, 2)) for (let i = 0; i < 5; i++) set.onStart(ep);
    const lr = new LeastRequestBalancer(seeded(9));
    const n = 30_000;
    const idle =
      tally(Array.from({ length: n }, () => lr.pick(call(), set.view())?.key)).get("10.0.0.3:8080") ?? 0;
    expect(Math.abs(idle / n - 2 / 3)).toBeLessThan(0.01);
  });

  it("weighs in-flight calls by endpoint weight", () => {
    // Weight 4 with 2 calls in flight is less loaded than weight 1 with 1.
    const set = makeSet(endpoints(2, (i) => ({ weight: i === 0 ? 4 : 1 })));
    const [heavy, light] = set.all;
    if (!heavy || !light) throw new Error("no endpoint");
    set.onStart(heavy);
    set.onStart(heavy);
    set.onStart(light);
    const lr = new LeastRequestBalancer(seeded(5));
    expect(lr.pick(call(), set.view())?.key).toBe(heavy.key);
  });
});

describe("createBalancer", () => {
  it("builds every algorithm and rejects bad options with the option's name", () => {
    const clock = new FakeClock();
    for (const algorithm of ["round_robin", "weighted_random", "least_request", "p2c_peak_ewma"] as const) {
      expect(createBalancer({ algorithm }, { clock }).algorithm).toBe(algorithm);
    }
    expect(createBalancer({ algorithm: "maglev", hashHeader: "x-user" }, { clock }).algorithm).toBe("maglev");
    expect(() => createBalancer({ algorithm: "ring_hash" }, { clock })).toThrow(/needs hashHeader/);
    expect(() => createBalancer({ panicThresholdPercent: 120 }, { clock })).toThrow(/panicThresholdPercent/);
    expect(() =>
      createBalancer({ algorithm: "maglev", hashHeader: "h", maglevTableSize: 65536 }, { clock }),
    ).toThrow(/must be prime/);
  });

  it("returns undefined from an empty view", () => {
    const set = makeSet([]);
    for (const algorithm of ["round_robin", "weighted_random", "least_request", "p2c_peak_ewma"] as const) {
      expect(createBalancer({ algorithm }, { clock: set.clock }).pick(call(), set.view())).toBeUndefined();
    }
  });
});
