import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";

/** Largest datagram a 2-byte length prefix can carry. */
export const MAX_DATAGRAM = 0xffff;

/** One datagram framed for a UDP tunnel: 2-byte big-endian length, then the payload. */
export function encodeDatagram(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_DATAGRAM) {
    throw new RangeError(`datagram of ${payload.length} bytes exceeds the ${MAX_DATAGRAM}-byte tunnel frame`);
  }
  const frame = new Uint8Array(2 + payload.length);
  frame[0] = payload.length >>> 8;
  frame[1] = payload.length & 0xff;
  frame.set(payload, 2);
  return frame;
}

/**
 * Reassembles datagrams from stream chunks, which split and join frames arbitrarily.
 * `push` returns the datagrams completed by the chunk, in order.
 */
export class DatagramDecoder {
  #pending: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    let buf = this.#pending.length === 0 ? chunk : concat(this.#pending, chunk);
    const out: Uint8Array[] = [];
    for (;;) {
      if (buf.length < 2) break;
      const len = ((buf[0] as number) << 8) | (buf[1] as number);
      if (buf.length < 2 + len) break;
      // A copy, so a datagram never pins a larger chunk in memory.
      out.push(buf.slice(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
    this.#pending = buf.length === 0 ? new Uint8Array(0) : buf.slice();
    return out;
  }

  /** Bytes of an incomplete frame still held. */
  get buffered(): number {
    return this.#pending.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export interface DatagramChannelEvents {
  message: [datagram: Uint8Array];
  close: [];
  error: [error: Error];
}

/**
 * Datagram view of a UDP tunnel stream: `send` frames one datagram, 'message' delivers
 * each received one whole. Used on both ends of a tunnel.
 */
export class DatagramChannel extends EventEmitter<DatagramChannelEvents> {
  readonly stream: Duplex;
  readonly #decoder = new DatagramDecoder();

  constructor(stream: Duplex) {
    super();
    this.stream = stream;
    stream.on("data", (chunk: Uint8Array) => {
      for (const datagram of this.#decoder.push(chunk)) this.emit("message", datagram);
    });
    stream.once("close", () => this.emit("close"));
    stream.on("error", (err) => {
      if (this.listenerCount("error") > 0) this.emit("error", err);
    });
  }

  /** False when the stream is buffering (backpressure), as Writable.write. */
  send(datagram: Uint8Array): boolean {
    return this.stream.write(encodeDatagram(datagram));
  }

  close(): void {
    this.stream.end();
  }
}
