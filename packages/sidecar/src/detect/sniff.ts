import type { Socket } from "node:net";
import { classify, type Detected, MAX_SNIFF_BYTES } from "./classify.ts";

/** The outcome of sniffing: the protocol, and whether the client sent nothing before the wait ran out. */
export interface Sniffed {
  readonly protocol: Detected;
  /** True when the client stayed silent (a server-first protocol such as SMTP or MySQL). */
  readonly silent: boolean;
}

/**
 * Reads the first bytes of an accepted socket until they name a protocol, or `waitMs` passes
 * (then the connection is opaque TCP: server-first protocols send nothing until the server
 * speaks). The bytes read are put back with `unshift`, so whoever takes the socket next reads
 * the stream from its first byte. The socket is left paused.
 */
export function sniff(socket: Socket, waitMs: number): Promise<Sniffed> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const finish = (protocol: Detected) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.pause();
      if (length > 0)
        socket.unshift(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
      resolve({ protocol, silent: length === 0 });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, length);
      const verdict = classify(head.subarray(0, MAX_SNIFF_BYTES));
      if (verdict !== "more") finish(verdict);
    };
    const onEnd = () => finish("tcp");
    const timer = setTimeout(() => finish("tcp"), waitMs);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
  });
}
