import { base64Encode } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Base64StreamDecoder, Base64StreamEncoder } from "../../src/convert/base64-stream.ts";
import { concatBytes } from "../../src/convert/byte-queue.ts";
import {
  decodeFrames,
  encodeFrames,
  FLAG_TRAILER,
  type GrpcFrame,
  GrpcFrameParser,
} from "../../src/convert/grpc-frame.ts";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  errorFromTrailers,
  formatGrpcTimeout,
  parseGrpcTimeout,
  setTrailerStatus,
} from "../../src/convert/grpc-status.ts";
import {
  decodeTrailers,
  encodeTrailerFrame,
  GrpcWebBodyReader,
  GrpcWebBodyWriter,
  grpcContentTypeFromWeb,
  grpcResponseToGrpcWeb,
  grpcWebContentTypeFromGrpc,
  grpcWebResponseToGrpc,
} from "../../src/convert/grpc-web.ts";
import { decodeStatusDetails, encodeStatusDetails } from "../../src/convert/status-details.ts";

const RUNS = { numRuns: 300 };

/** Cuts bytes at the given points (any values; they are reduced into range and sorted). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort(
    (a, b) => a - b,
  );
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

const frameArb = fc.record({ flags: fc.constantFrom(0, 1), data: fc.uint8Array({ maxLength: 300 }) });
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/);
const trailersArb = fc
  .dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), headerValue, { maxKeys: 5 })
  .map((d) => {
    const h = new Headers(d);
    h.delete("content-type");
    return h;
  });
const entries = (h: Headers) => [...h.entries()];

describe("gRPC and gRPC-Web framing", () => {
  it("frames round-trip under any split of the stream (property)", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), cutsArb, (frames, cuts) => {
        const parser = new GrpcFrameParser();
        const out: GrpcFrame[] = [];
        for (const part of split(encodeFrames(frames), cuts)) {
          parser.push(part);
          for (let f = parser.next(); f; f = parser.next()) out.push(f);
        }
        parser.end();
        expect(out).toEqual(frames);
      }),
      RUNS,
    );
  });

  it("encodes a trailer frame as flag 0x80 and CRLF-separated lines, and reads it back", () => {
    const frame = encodeTrailerFrame(new Headers({ "grpc-status": "0", "x-cost": "3" }));
    const text = "grpc-status: 0\r\nx-cost: 3\r\n";
    expect([...frame.subarray(0, 5)]).toEqual([FLAG_TRAILER, 0, 0, 0, text.length]);
    expect(new TextDecoder().decode(frame.subarray(5))).toBe(text);
    expect(entries(decodeTrailers(frame.subarray(5)))).toEqual([
      ["grpc-status", "0"],
      ["x-cost", "3"],
    ]);
    expect(() => decodeTrailers(new TextEncoder().encode("no-colon\r\n"))).toThrow('trailer line "no-colon"');
  });

  it("rejects a body that ends inside a frame", () => {
    expect(() => decodeFrames(new Uint8Array([0, 0, 0, 0, 9, 1, 2]))).toThrow("2 of 9 payload bytes");
    expect(() => decodeFrames(new Uint8Array([0, 0]))).toThrow("2 of 5 header bytes");
  });

  it("gRPC response -> gRPC-Web -> gRPC round-trips, binary and text (property)", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 5 }), trailersArb, fc.boolean(), (frames, extra, text) => {
        const trailers = setTrailerStatus(new Headers(extra), {
          code: Code.NotFound,
          message: "no book ü",
          details: [],
        });
        const grpc = {
          headers: new Headers({ "content-type": "application/grpc+proto" }),
          body: encodeFrames(frames),
          trailers,
        };
        const web = grpcResponseToGrpcWeb(grpc, { text });
        expect(web.headers.get("content-type")).toBe(
          text ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
        );
        const back = grpcWebResponseToGrpc(web);
        expect(back.body).toEqual(grpc.body);
        expect(entries(back.trailers)).toEqual(entries(trailers));
        expect(back.headers.get("content-type")).toBe("application/grpc+proto");
      }),
      RUNS,
    );
  });

  it("moves a trailers-only status from the headers into the trailer frame", () => {
    const web = grpcResponseToGrpcWeb({
      headers: new Headers({
        "content-type": "application/grpc",
        "grpc-status": "5",
        "grpc-message": "gone",
      }),
      body: new Uint8Array(0),
      trailers: new Headers(),
    });
    expect(web.headers.has("grpc-status")).toBe(false);
    const back = grpcWebResponseToGrpc(web);
    expect(errorFromTrailers(back.trailers)).toEqual({ code: Code.NotFound, message: "gone", details: [] });
  });

  it("streams text mode through writer and reader with any chunking on both sides (property)", () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 5 }),
        cutsArb,
        cutsArb,
        trailersArb,
        (frames, writeCuts, readCuts, extra) => {
          const trailers = setTrailerStatus(new Headers(extra), undefined);
          const writer = new GrpcWebBodyWriter({ text: true });
          const wire = concatBytes([
            ...split(encodeFrames(frames), writeCuts).map((c) => writer.push(c)),
            writer.end(trailers),
          ]);
          expect(new TextDecoder().decode(wire)).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
          const reader = new GrpcWebBodyReader({ text: true });
          const got = split(wire, readCuts).flatMap((c) => reader.push(c));
          reader.end();
          expect(got).toEqual(frames);
          expect(entries(reader.trailers ?? new Headers())).toEqual(entries(trailers));
        },
      ),
      RUNS,
    );
  });

  it("decodes text bodies made of separately padded base64 segments cut anywhere (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), cutsArb, (segments, cuts) => {
        const text = new TextEncoder().encode(segments.map((s) => base64Encode(s, "std")).join(""));
        const decoder = new Base64StreamDecoder();
        const out = concatBytes([new Uint8Array(0), ...split(text, cuts).map((c) => decoder.push(c))]);
        decoder.end();
        expect(out).toEqual(concatBytes([new Uint8Array(0), ...segments]));
      }),
      RUNS,
    );
  });

  it("encodes base64 continuously across chunks (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), cutsArb, (bytes, cuts) => {
        const encoder = new Base64StreamEncoder();
        const text =
          split(bytes, cuts)
            .map((c) => encoder.push(c))
            .join("") + encoder.end();
        expect(text).toBe(base64Encode(bytes, "std"));
      }),
      RUNS,
    );
  });

  it("rejects malformed text bodies", () => {
    const d = new Base64StreamDecoder();
    expect(() => d.push("AB!D")).toThrow("not base64");
    const e = new Base64StreamDecoder();
    e.push("QUJD");
    e.push("QQ");
    expect(() => e.end()).toThrow('incomplete base64 group "QQ"');
    expect(() => new Base64StreamDecoder().push("A=BC")).toThrow("misplaced padding");
  });

  it("maps content types between gRPC-Web and gRPC", () => {
    expect(grpcContentTypeFromWeb("application/grpc-web")).toBe("application/grpc");
    expect(grpcContentTypeFromWeb("application/grpc-web+proto")).toBe("application/grpc+proto");
    expect(grpcContentTypeFromWeb("application/grpc-web+json; charset=utf-8")).toBe("application/grpc+json");
    expect(grpcContentTypeFromWeb("application/grpc-web-text")).toBe("application/grpc");
    expect(grpcContentTypeFromWeb("application/grpc-web-text+proto")).toBe("application/grpc+proto");
    expect(grpcContentTypeFromWeb("application/grpc+proto")).toBeUndefined();
    expect(grpcContentTypeFromWeb("application/json")).toBeUndefined();
    expect(grpcWebContentTypeFromGrpc("application/grpc", false)).toBe("application/grpc-web");
    expect(grpcWebContentTypeFromGrpc("application/grpc+json", false)).toBe("application/grpc-web+json");
    expect(grpcWebContentTypeFromGrpc("application/grpc+proto", true)).toBe(
      "application/grpc-web-text+proto",
    );
    expect(grpcWebContentTypeFromGrpc("application/grpc-web", true)).toBeUndefined();
  });
});

describe("gRPC status fields", () => {
  it("percent-encodes grpc-message as gRPC specifies, and decodes it back (property)", () => {
    expect(encodeGrpcMessage("50% off: ü\n")).toBe("50%25 off: %C3%BC%0A");
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (message) => {
        const encoded = encodeGrpcMessage(message);
        expect(encoded).toMatch(/^[ -~]*$/);
        expect(decodeGrpcMessage(encoded)).toBe(message);
      }),
      RUNS,
    );
    expect(decodeGrpcMessage("100%")).toBe("100%");
  });

  it("round-trips google.rpc.Status with details through grpc-status-details-bin", () => {
    const error = {
      code: Code.FailedPrecondition,
      message: "stock too low",
      details: [{ type: "google.rpc.ErrorInfo", value: new Uint8Array([10, 1, 120]) }],
    };
    const bin = encodeStatusDetails(error);
    expect(bin).not.toContain("=");
    expect(decodeStatusDetails(bin)).toEqual(error);
    // The Any carries the type URL with its prefix, as gRPC implementations expect.
    expect(atob(bin)).toContain("type.googleapis.com/google.rpc.ErrorInfo");
    expect(errorFromTrailers(setTrailerStatus(new Headers(), error))).toEqual(error);
  });

  it("reads the status from trailers, treating a missing status as an internal error", () => {
    expect(errorFromTrailers(new Headers({ "grpc-status": "0" }))).toBeUndefined();
    expect(errorFromTrailers(new Headers({ "grpc-status": "14", "grpc-message": "down%21" }))).toEqual({
      code: Code.Unavailable,
      message: "down!",
      details: [],
    });
    expect(errorFromTrailers(new Headers({ "grpc-status": "99" }))?.code).toBe(Code.Unknown);
    expect(errorFromTrailers(new Headers())?.message).toBe("gRPC response ended without grpc-status");
  });

  it("converts grpc-timeout and milliseconds both ways", () => {
    expect(parseGrpcTimeout("1H")).toBe(3_600_000);
    expect(parseGrpcTimeout("250m")).toBe(250);
    expect(parseGrpcTimeout("3S")).toBe(3000);
    expect(parseGrpcTimeout("1500u")).toBe(1.5);
    expect(parseGrpcTimeout("123456789m")).toBeUndefined();
    expect(parseGrpcTimeout("5x")).toBeUndefined();
    expect(formatGrpcTimeout(1.2)).toBe("2m");
    expect(formatGrpcTimeout(250)).toBe("250m");
    expect(formatGrpcTimeout(200_000_000)).toBe("200000S");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (ms) => {
        expect(parseGrpcTimeout(formatGrpcTimeout(ms))).toBeGreaterThanOrEqual(ms);
      }),
      RUNS,
    );
  });
});
