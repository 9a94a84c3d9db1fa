import { Code } from "@connectrpc/connect";
import { ByteQueue, concatBytes } from "./byte-queue.ts";
import { ConvertError } from "./wire-error.ts";

/** Flag of a frame whose payload is compressed with the call's grpc-encoding. */
export const FLAG_COMPRESSED = 0x01;
/** Flag of a gRPC-Web frame that carries the trailers. */
export const FLAG_TRAILER = 0x80;

/** A gRPC length-prefixed frame: 1 flag byte, 4-byte big-endian length, payload. */
export interface GrpcFrame {
  readonly flags: number;
  readonly data: Uint8Array;
}

const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

export function encodeFrame(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  writeHeader(out, 0, flags, data.length);
  out.set(data, 5);
  return out;
}

export function encodeFrames(frames: readonly GrpcFrame[]): Uint8Array {
  let size = 0;
  for (const f of frames) size += 5 + f.data.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const f of frames) {
    writeHeader(out, at, f.flags, f.data.length);
    out.set(f.data, at + 5);
    at += 5 + f.data.length;
  }
  return out;
}

function writeHeader(out: Uint8Array, at: number, flags: number, length: number): void {
  out[at] = flags;
  out[at + 1] = length >>> 24;
  out[at + 2] = (length >>> 16) & 0xff;
  out[at + 3] = (length >>> 8) & 0xff;
  out[at + 4] = length & 0xff;
}

/** Reads frames out of a byte stream cut anywhere. */
export class GrpcFrameParser {
  readonly #queue = new ByteQueue();
  readonly #max: number;
  #flags = -1;
  #want = -1;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  }

  get buffered(): number {
    return this.#queue.length;
  }

  push(chunk: Uint8Array): void {
    this.#queue.push(chunk);
  }

  /** The next complete frame, or undefined until more bytes arrive. */
  next(): GrpcFrame | undefined {
    if (this.#want < 0) {
      if (this.#queue.length < 5) return undefined;
      const h = this.#queue.take(5);
      this.#flags = h[0] as number;
      this.#want =
        (h[1] as number) * 2 ** 24 + (((h[2] as number) << 16) | ((h[3] as number) << 8) | (h[4] as number));
      if (this.#want > this.#max) {
        throw new ConvertError(
          Code.ResourceExhausted,
          400,
          `gRPC frame of ${this.#want} bytes exceeds the ${this.#max}-byte limit`,
        );
      }
    }
    if (this.#queue.length < this.#want) return undefined;
    const frame = { flags: this.#flags, data: this.#queue.take(this.#want) };
    this.#want = -1;
    return frame;
  }

  /** Throws when the stream ended inside a frame. */
  end(): void {
    if (this.#want >= 0 || this.#queue.length > 0) {
      const have =
        this.#want >= 0
          ? `${this.#queue.length} of ${this.#want} payload bytes`
          : `${this.#queue.length} of 5 header bytes`;
      throw new ConvertError(Code.InvalidArgument, 400, `gRPC stream ended inside a frame (${have})`);
    }
  }
}

/** All frames of a complete body; throws when it ends inside a frame. */
export function decodeFrames(body: Uint8Array | readonly Uint8Array[]): GrpcFrame[] {
  const parser = new GrpcFrameParser({ maxFrameBytes: Number.MAX_SAFE_INTEGER });
  for (const chunk of body instanceof Uint8Array ? [body] : body) parser.push(chunk);
  const frames: GrpcFrame[] = [];
  for (let f = parser.next(); f; f = parser.next()) frames.push(f);
  parser.end();
  return frames;
}

export { concatBytes };
