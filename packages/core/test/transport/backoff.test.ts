import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../src/transport/backoff.ts";

describe("reconnect backoff", () => {
  it("stays within [ceiling/2, ceiling] where the ceiling doubles per failure up to the maximum", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (failures, r) => {
          const ceiling = Math.min(30_000, 250 * 2 ** (failures - 1));
          const d = backoffDelay(failures, { baseMs: 250, maxMs: 30_000 }, () => r);
          return d >= ceiling / 2 && d <= ceiling;
        },
      ),
    );
    expect(backoffDelay(1, { baseMs: 100, maxMs: 1000 }, () => 0)).toBe(50);
    expect(backoffDelay(11, { baseMs: 100, maxMs: 1000 }, () => 0.999999)).toBeCloseTo(1000, 0);
  });
});
