import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deadlineFromHeaders,
  decodeConnectTimeout,
  decodeGrpcTimeout,
  encodeConnectTimeout,
  encodeGrpcTimeout,
} from "../../src/resilience/deadline-headers.ts";

const grpcValue = fc
  .tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.constantFrom("H", "M", "S", "m", "u", "n"))
  .map(([n, u]) => `${n}${u}`);

describe("grpc-timeout", () => {
  it("decodes every unit of the gRPC spec", () => {
    expect(decodeGrpcTimeout("250m")).toBe(250);
    expect(decodeGrpcTimeout("5S")).toBe(5000);
    expect(decodeGrpcTimeout("2M")).toBe(120_000);
    expect(decodeGrpcTimeout("1H")).toBe(3_600_000);
    expect(decodeGrpcTimeout("1500u")).toBe(1.5);
    expect(decodeGrpcTimeout("3000000n")).toBe(3);
  });

  it("rejects what the spec does not allow: 9 digits, no unit, unknown unit, sign, spaces", () => {
    for (const bad of ["123456789m", "100", "5s", "-5S", " 5S", "5 S", "", "m", "1.5S"]) {
      expect(decodeGrpcTimeout(bad), bad).toBeUndefined();
    }
  });

  it("encodes with the finest unit that fits in 8 digits, rounding up", () => {
    expect(encodeGrpcTimeout(250)).toBe("250000u");
    expect(encodeGrpcTimeout(99)).toBe("99000000n");
    expect(encodeGrpcTimeout(100_000)).toBe("100000m");
    expect(encodeGrpcTimeout(100_000_000.5)).toBe("100001S");
    expect(encodeGrpcTimeout(0.1)).toBe("100000n");
    expect(encodeGrpcTimeout(0)).toBe("0n");
    expect(encodeGrpcTimeout(-5)).toBe("0n");
  });

  it("round-trips whole milliseconds exactly up to 8 digits (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), (ms) => {
        const encoded = encodeGrpcTimeout(ms);
        expect(encoded).toMatch(/^\d{1,8}[HMSmun]$/);
        expect(decodeGrpcTimeout(encoded)).toBe(ms);
      }),
    );
  });

  it("never grows a timeout by more than one unit, nor shortens it beyond float noise (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 3.5e14, noNaN: true }), (ms) => {
        const encoded = encodeGrpcTimeout(ms);
        expect(encoded).toMatch(/^\d{1,8}[HMSmun]$/);
        const back = decodeGrpcTimeout(encoded) as number;
        expect(back).toBeGreaterThanOrEqual(
          ms - (decodeGrpcTimeout(`1${encoded.slice(-1)}`) as number) * 1e-6,
        );
        const unitMs = decodeGrpcTimeout(`1${encoded.slice(-1)}`) as number;
        expect(back - ms).toBeLessThan(unitMs * (1 + 1e-9));
        // The unit is the finest that fits, so it is never coarser than 1e-5 of the value.
        expect(unitMs).toBeLessThanOrEqual(Math.max(1e-6, ms * 1e-5));
      }),
    );
  });

  it("is canonical: decode . encode . decode = decode for every valid header (property)", () => {
    fc.assert(
      fc.property(grpcValue, (value) => {
        const ms = decodeGrpcTimeout(value) as number;
        expect(decodeGrpcTimeout(encodeGrpcTimeout(ms))).toBe(ms);
      }),
    );
  });
});

describe("connect-timeout-ms", () => {
  it("round-trips whole milliseconds up to 10 digits (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999_999 }), (ms) => {
        expect(decodeConnectTimeout(encodeConnectTimeout(ms))).toBe(ms);
      }),
    );
  });

  it("rounds a fraction up and rejects malformed values", () => {
    expect(encodeConnectTimeout(0.2)).toBe("1");
    expect(encodeConnectTimeout(-1)).toBe("0");
    for (const bad of ["", "12345678901", "1.5", "-3", "10ms", " 5"]) {
      expect(decodeConnectTimeout(bad), bad).toBeUndefined();
    }
  });
});

describe("deadlineFromHeaders", () => {
  it("takes the shorter of the two headers, relative to now", () => {
    const h = new Headers({ "grpc-timeout": "5S", "connect-timeout-ms": "800" });
    expect(deadlineFromHeaders(h, 1000)).toBe(1800);
    expect(deadlineFromHeaders(new Headers({ "grpc-timeout": "250m" }), 1000)).toBe(1250);
    expect(deadlineFromHeaders(new Headers({ "connect-timeout-ms": "40" }), 0)).toBe(40);
    expect(deadlineFromHeaders(new Headers({ "grpc-timeout": "junk" }), 0)).toBeUndefined();
    expect(deadlineFromHeaders(new Headers(), 0)).toBeUndefined();
  });
});
