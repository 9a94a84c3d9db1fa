import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  childTraceparent,
  formatTraceparent,
  isValidSpanId,
  isValidTraceId,
  parseTraceparent,
  randomSpanId,
  randomTraceId,
} from "../../src/telemetry/traceparent.ts";

const hex = (n: number) =>
  fc
    .string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n })
    .filter((s) => /[1-9a-f]/.test(s));
const traceParent = fc.record({ traceId: hex(32), spanId: hex(16), flags: fc.integer({ min: 0, max: 255 }) });

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("traceparent", () => {
  it("round-trips every valid trace id, span id and flags", () => {
    fc.assert(
      fc.property(traceParent, (tp) => {
        const text = formatTraceparent(tp);
        expect(text).toHaveLength(55);
        expect(parseTraceparent(text)).toEqual({ version: 0, ...tp });
      }),
    );
  });

  it("parses the spec's example", () => {
    expect(parseTraceparent(valid)).toEqual({
      version: 0,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      flags: 1,
    });
  });

  it.each([
    ["empty", ""],
    ["all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
    ["all-zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
    ["uppercase hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"],
    ["version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["version 00 with extra data", `${valid}-extra`],
    ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
    ["missing flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"],
    ["wrong separator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["non-hex flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"],
    ["future version glued to more data", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"],
  ])("rejects %s", (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it("accepts a future version's extra fields and ignores them", () => {
    expect(
      parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"),
    ).toEqual({
      version: 0xcc,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      flags: 1,
    });
  });

  it("rejects any valid value with one hex digit replaced by a non-hex character", () => {
    const hexPositions = [
      0,
      1,
      ...Array.from({ length: 32 }, (_, i) => 3 + i),
      ...Array.from({ length: 16 }, (_, i) => 36 + i),
      53,
      54,
    ];
    fc.assert(
      fc.property(
        traceParent,
        fc.constantFrom(...hexPositions),
        fc.constantFrom(..."gzGZA-_ .+"),
        (tp, pos, bad) => {
          const text = formatTraceparent(tp);
          expect(parseTraceparent(text.slice(0, pos) + bad + text.slice(pos + 1))).toBeUndefined();
        },
      ),
    );
  });

  it("refuses to format an invalid id, naming it", () => {
    expect(() =>
      formatTraceparent({ traceId: "0".repeat(32), spanId: "00f067aa0ba902b7", flags: 1 }),
    ).toThrow("trace id");
    expect(() =>
      formatTraceparent({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "xyz", flags: 1 }),
    ).toThrow("span id");
    expect(() =>
      formatTraceparent({
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        flags: 256,
      }),
    ).toThrow("flags");
  });

  it("makes valid random ids and child traceparents in the same trace", () => {
    for (let i = 0; i < 100; i++) {
      expect(isValidTraceId(randomTraceId())).toBe(true);
      expect(isValidSpanId(randomSpanId())).toBe(true);
    }
    const parent = parseTraceparent(valid);
    if (!parent) throw new Error("spec example did not parse");
    const child = parseTraceparent(childTraceparent(parent));
    expect(child?.traceId).toBe(parent.traceId);
    expect(child?.flags).toBe(1);
    expect(child?.spanId).not.toBe(parent.spanId);
  });
});
