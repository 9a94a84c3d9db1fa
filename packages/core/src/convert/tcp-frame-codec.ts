import { ByteQueue } from "./byte-queue.ts";

/**
 * How the HTTP-to-TCP bridge frames one request and one response on a byte stream. A user
 * plugin implements this for its own protocol.
 */
export interface FrameCodec {
  readonly name: string;
  /** The bytes to write for one request body; throws when the body cannot be framed. */
  encode(request: Uint8Array): Uint8Array;
  /** A decoder for one connection's incoming bytes. */
  createDecoder(): FrameDecoder;
}

/**
 * Turns a byte stream into frames, whatever the reads look like: a frame split over many
 * reads is assembled, several frames in one read come out one per `next()`.
 */
export interface FrameDecoder {
  push(chunk: Uint8Array): void;
  /** The next complete frame (without its framing), or undefined until more bytes arrive. */
  next(): Uint8Array | undefined;
  /** The stream ended: the last frame if the framing allows an unterminated one; throws inside a frame. */
  end(): Uint8Array | undefined;
  /** Bytes received and not yet returned in a frame. */
  readonly buffered: number;
}

/** A frame larger than the codec allows, or a stream that ended inside a frame. */
export class FrameError extends Error {
  override readonly name = "FrameError";
}

const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

export interface NewlineCodecOptions {
  /** `\n` (default) or `\r\n`, written after each request. A `\r` before `\n` is always dropped on read. */
  readonly delimiter?: "\n" | "\r\n";
  /** Largest frame accepted, without its delimiter (default 16 MiB). */
  readonly maxFrameBytes?: number;
  /** Return a final line without a delimiter at end of stream (default true). */
  readonly allowUnterminated?: boolean;
}

/** Newline-delimited frames: line protocols (Redis inline, memcached text, SMTP-style). */
export function newlineCodec(options: NewlineCodecOptions = {}): FrameCodec {
  const delimiter = new TextEncoder().encode(options.delimiter ?? "\n");
  const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  const allowUnterminated = options.allowUnterminated ?? true;
  return {
    name: "newline",
    encode(request) {
      // A body that already ends with its newline is one line; a newline inside would be two frames.
      const body = request[request.length - 1] === 10 ? request.subarray(0, request.length - 1) : request;
      const inner = body.indexOf(10);
      if (inner >= 0)
        throw new FrameError(`request has a newline at byte ${inner}: it would be read as several lines`);
      if (body.length > max)
        throw new FrameError(`request of ${body.length} bytes exceeds the ${max}-byte frame limit`);
      const trimmed = body[body.length - 1] === 13 ? body.subarray(0, body.length - 1) : body;
      const out = new Uint8Array(trimmed.length + delimiter.length);
      out.set(trimmed);
      out.set(delimiter, trimmed.length);
      return out;
    },
    createDecoder() {
      const queue = new ByteQueue();
      let scanned = 0;
      const line = (n: number, skip: number) => {
        const bytes = queue.take(n);
        if (skip > 0) queue.take(skip);
        scanned = 0;
        return bytes;
      };
      const next = (): Uint8Array | undefined => {
        const at = queue.indexOf(10, scanned);
        if (at < 0) {
          scanned = queue.length;
          if (queue.length > max + 1) throw new FrameError(`line exceeds the ${max}-byte frame limit`);
          return undefined;
        }
        const cr = at > 0 && queue.byteAt(at - 1) === 13 ? 1 : 0;
        if (at - cr > max)
          throw new FrameError(`line of ${at - cr} bytes exceeds the ${max}-byte frame limit`);
        return line(at - cr, 1 + cr);
      };
      return {
        get buffered() {
          return queue.length;
        },
        push(chunk) {
          queue.push(chunk);
        },
        next,
        end() {
          const complete = next();
          if (complete || queue.length === 0) return complete;
          if (!allowUnterminated)
            throw new FrameError(`stream ended inside a line (${queue.length} bytes without a newline)`);
          const n = queue.length;
          const cr = queue.byteAt(n - 1) === 13 ? 1 : 0;
          return line(n - cr, cr);
        },
      };
    },
  };
}

export interface LengthPrefixedCodecOptions {
  /** Largest frame accepted (default 16 MiB). */
  readonly maxFrameBytes?: number;
}

/** Frames with a 4-byte big-endian length before the payload. */
export function lengthPrefixedCodec(options: LengthPrefixedCodecOptions = {}): FrameCodec {
  const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  return {
    name: "length-prefixed",
    encode(request) {
      if (request.length > max) {
        throw new FrameError(`request of ${request.length} bytes exceeds the ${max}-byte frame limit`);
      }
      const out = new Uint8Array(4 + request.length);
      new DataView(out.buffer).setUint32(0, request.length);
      out.set(request, 4);
      return out;
    },
    createDecoder() {
      const queue = new ByteQueue();
      let want = -1;
      return {
        get buffered() {
          return queue.length;
        },
        push(chunk) {
          queue.push(chunk);
        },
        next() {
          if (want < 0) {
            if (queue.length < 4) return undefined;
            const h = queue.take(4);
            want =
              (h[0] as number) * 2 ** 24 +
              (((h[1] as number) << 16) | ((h[2] as number) << 8) | (h[3] as number));
            if (want > max)
              throw new FrameError(`frame of ${want} bytes exceeds the ${max}-byte frame limit`);
          }
          if (queue.length < want) return undefined;
          const frame = queue.take(want);
          want = -1;
          return frame;
        },
        end() {
          if (want < 0 && queue.length === 0) return undefined;
          if (want < 0)
            throw new FrameError(`stream ended inside a length prefix (${queue.length} of 4 bytes)`);
          throw new FrameError(`stream ended inside a frame (${queue.length} of ${want} bytes)`);
        },
      };
    },
  };
}
