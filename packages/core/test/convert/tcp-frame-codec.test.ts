import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type FrameCodec,
  FrameError,
  lengthPrefixedCodec,
  newlineCodec,
} from "../../src/convert/tcp-frame-codec.ts";

const RUNS = { numRuns: 300 };
const cutsArb = fc.array(fc.nat(), { maxLength: 16 });

function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const lineArb = fc.uint8Array({ maxLength: 200 }).map((b) => b.filter((x) => x !== 10 && x !== 13));
const codecs: [string, FrameCodec, fc.Arbitrary<Uint8Array>][] = [
  ["newline", newlineCodec(), lineArb],
  ["newline (CRLF)", newlineCodec({ delimiter: "\r\n" }), lineArb],
  ["length-prefixed", lengthPrefixedCodec(), fc.uint8Array({ maxLength: 300 })],
];

describe.each(codecs)("%s codec", (_name, codec, payload) => {
  it("decodes exactly one frame per request under any split and coalescing of the stream (property)", () => {
    fc.assert(
      fc.property(fc.array(payload, { maxLength: 10 }), cutsArb, (requests, cuts) => {
        const decoder = codec.createDecoder();
        const frames: Uint8Array[] = [];
        for (const chunk of split(concat(requests.map((r) => codec.encode(r))), cuts)) {
          decoder.push(chunk);
          for (let f = decoder.next(); f; f = decoder.next()) frames.push(f);
        }
        expect(decoder.end()).toBeUndefined();
        expect(frames).toEqual(requests);
        expect(decoder.buffered).toBe(0);
      }),
      RUNS,
    );
  });

  it("gives nothing until a frame is complete, then that frame alone", () => {
    const decoder = codec.createDecoder();
    const wire = concat([
      codec.encode(new TextEncoder().encode("PING")),
      codec.encode(new TextEncoder().encode("X")),
    ]);
    const first = codec.encode(new TextEncoder().encode("PING")).length;
    decoder.push(wire.subarray(0, first - 1));
    expect(decoder.next()).toBeUndefined();
    decoder.push(wire.subarray(first - 1));
    expect(new TextDecoder().decode(decoder.next())).toBe("PING");
    expect(new TextDecoder().decode(decoder.next())).toBe("X");
    expect(decoder.next()).toBeUndefined();
  });
});

describe("frame codec limits and errors", () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it("newline: refuses a request with an inner newline, keeps a trailing one as the delimiter", () => {
    const codec = newlineCodec();
    expect(() => codec.encode(enc("a\nb"))).toThrow("newline at byte 1");
    expect(codec.encode(enc("GET k\n"))).toEqual(enc("GET k\n"));
    expect(newlineCodec({ delimiter: "\r\n" }).encode(enc("QUIT"))).toEqual(enc("QUIT\r\n"));
  });

  it("newline: returns an unterminated last line at end of stream unless told not to", () => {
    const lenient = newlineCodec().createDecoder();
    lenient.push(enc("a\r\nlast"));
    expect(lenient.end()).toEqual(enc("a"));
    expect(lenient.end()).toEqual(enc("last"));
    const strict = newlineCodec({ allowUnterminated: false }).createDecoder();
    strict.push(enc("tail"));
    expect(() => strict.end()).toThrow("stream ended inside a line (4 bytes without a newline)");
  });

  it("newline: enforces the frame limit before the newline arrives", () => {
    const decoder = newlineCodec({ maxFrameBytes: 4 }).createDecoder();
    decoder.push(enc("abcdef"));
    expect(() => decoder.next()).toThrow(FrameError);
  });

  it("length-prefixed: enforces the frame limit from the prefix and reports truncation", () => {
    const codec = lengthPrefixedCodec({ maxFrameBytes: 8 });
    expect(() => codec.encode(new Uint8Array(9))).toThrow(
      "request of 9 bytes exceeds the 8-byte frame limit",
    );
    const big = codec.createDecoder();
    big.push(new Uint8Array([0, 0, 1, 0]));
    expect(() => big.next()).toThrow("frame of 256 bytes exceeds the 8-byte frame limit");
    const cut = codec.createDecoder();
    cut.push(new Uint8Array([0, 0, 0, 5, 1, 2]));
    expect(cut.next()).toBeUndefined();
    expect(() => cut.end()).toThrow("stream ended inside a frame (2 of 5 bytes)");
    const header = codec.createDecoder();
    header.push(new Uint8Array([0, 0]));
    expect(() => header.end()).toThrow("inside a length prefix (2 of 4 bytes)");
  });

  it("length-prefixed: reads a length above 2^31 as unsigned", () => {
    const decoder = lengthPrefixedCodec({ maxFrameBytes: 2 ** 32 }).createDecoder();
    decoder.push(new Uint8Array([0x80, 0, 0, 0]));
    expect(decoder.next()).toBeUndefined();
    expect(() => decoder.end()).toThrow("0 of 2147483648 bytes");
  });
});
