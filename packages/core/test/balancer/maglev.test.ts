import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildTable, MaglevBalancer } from "../../src/balancer/maglev.ts";
import { call, endpoints, makeSet, tally } from "./helpers.ts";

const KEYS = 100_000;
const calls = Array.from({ length: KEYS }, (_, i) => call({ "x-user": `user-${i}` }));

function placement(eps: ReturnType<typeof endpoints>): (string | undefined)[] {
  const set = makeSet(eps);
  const maglev = new MaglevBalancer({ hashHeader: "x-user" });
  const view = set.view();
  return calls.map((c) => maglev.pick(c, view)?.key);
}

describe("maglev", () => {
  it("fills a prime table of 65537 slots with equal shares (counts differ by at most one)", () => {
    for (const n of [2, 3, 7, 20, 50]) {
      const set = makeSet(endpoints(n));
      const table = buildTable(set.view().endpoints, 65537);
      const counts = new Array(n).fill(0);
      for (const owner of table) counts[owner]++;
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it("gives every endpoint its weight's share of slots, within one slot (property, prime sizes)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(251, 4099, 65537),
        (weights, size) => {
          const set = makeSet(endpoints(weights.length, (i) => ({ weight: weights[i] })));
          const table = buildTable(set.view().endpoints, size);
          const counts = new Array(weights.length).fill(0);
          for (const owner of table) counts[owner]++;
          const total = weights.reduce((a, b) => a + b, 0);
          // Credits make an endpoint's turns exact up to the last unfinished round.
          weights.forEach((w, i) => {
            expect(Math.abs(counts[i] - (size * w) / total)).toBeLessThanOrEqual(
              Math.max(...weights) / w + 1,
            );
          });
        },
      ),
      { seed: 3, numRuns: 40 },
    );
  });

  it("spreads 100k keys within 5% of even for 3 to 10 endpoints", () => {
    for (let n = 3; n <= 10; n++) {
      const counts = tally(placement(endpoints(n)));
      const even = KEYS / n;
      expect(counts.size).toBe(n);
      for (const c of counts.values()) expect(Math.abs(c - even) / even).toBeLessThan(0.05);
    }
  });

  it("moves about 1/(N+1) of the keys when one endpoint joins, and under 1% more than that", () => {
    for (const n of [3, 5, 10, 20]) {
      const eps = endpoints(n + 1);
      const before = placement(eps.slice(0, n));
      const after = placement(eps);
      const added = `${eps[n]?.address}:${eps[n]?.port}`;
      let toNew = 0;
      let elsewhere = 0;
      for (let i = 0; i < KEYS; i++) {
        if (before[i] === after[i]) continue;
        if (after[i] === added) toNew++;
        else elsewhere++;
      }
      expect(Math.abs(toNew / KEYS - 1 / (n + 1)) / (1 / (n + 1))).toBeLessThan(0.1);
      expect(elsewhere / KEYS).toBeLessThan(0.01);
    }
  });

  it("moves the removed endpoint's keys and under 1% of the others when one leaves", () => {
    const eps = endpoints(10);
    const before = placement(eps);
    const gone = "10.0.0.6:8080";
    const after = placement(eps.filter((e) => `${e.address}:${e.port}` !== gone));
    let disturbed = 0;
    for (let i = 0; i < KEYS; i++) if (before[i] !== gone && after[i] !== before[i]) disturbed++;
    expect(disturbed / KEYS).toBeLessThan(0.01);
  });

  it("gives a weight-2 endpoint twice the slots of a weight-1 endpoint (within 2%)", () => {
    const set = makeSet(endpoints(3, (i) => ({ weight: i === 0 ? 2 : 1 })));
    const table = buildTable(set.view().endpoints, 65537);
    const counts = [0, 0, 0];
    for (const owner of table) counts[owner] = (counts[owner] ?? 0) + 1;
    expect(Math.abs((counts[0] ?? 0) / 65537 - 0.5)).toBeLessThan(0.01);
    expect(Math.abs((counts[1] ?? 0) - (counts[2] ?? 0))).toBeLessThanOrEqual(1);
  });

  it("builds the same table whatever order discovery lists the endpoints in", () => {
    const eps = endpoints(6);
    const a = makeSet(eps).view().endpoints;
    const b = makeSet([...eps].reverse()).view().endpoints;
    const ta = buildTable(a, 65537);
    const tb = buildTable(b, 65537);
    for (let s = 0; s < 65537; s += 97) expect(a[ta[s] ?? -1]?.key).toBe(b[tb[s] ?? -1]?.key);
  });
});
