import type { Duplex } from "node:stream";
import { type FrameDecoder, FrameError } from "@weft/core";

/** Why a bridged request got no response frame, as the HTTP status the caller gets. */
export class BridgeError extends Error {
  override readonly name = "BridgeError";
  readonly status: number;

  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

/**
 * Writes one framed request on `stream` and resolves with the first whole frame read back.
 * Rejects with a BridgeError when the stream ends or fails first, or when the response frame
 * breaks the codec's rules (too large, cut short); `signal` ends the wait (timeouts, caller gone).
 */
export function exchangeFrame(
  stream: Duplex,
  frame: Uint8Array,
  decoder: FrameDecoder,
  target: string,
  signal: AbortSignal,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error: BridgeError | undefined, frame?: Uint8Array) => {
      if (done) return;
      done = true;
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
      signal.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(frame as Uint8Array);
    };
    const decodeWith = (read: () => Uint8Array | undefined): boolean => {
      try {
        const f = read();
        if (f) finish(undefined, f);
        return f !== undefined;
      } catch (e) {
        // Thrown in a stream callback, any decoder error (a user codec's too) must end here.
        const why = e instanceof FrameError ? e.message : `the decoder failed: ${(e as Error)?.message ?? e}`;
        finish(new BridgeError(502, `bad response frame from ${target}: ${why}`, { cause: e }));
        return true;
      }
    };
    const onData = (chunk: Uint8Array) => {
      decodeWith(() => {
        decoder.push(chunk);
        return decoder.next();
      });
    };
    const onEnd = () => {
      if (decodeWith(() => decoder.end())) return;
      finish(new BridgeError(502, `${target} closed the connection without a response frame`));
    };
    const onClose = () => {
      if (!done) onEnd();
    };
    const onError = (e: Error) =>
      finish(new BridgeError(502, `connection to ${target} failed: ${e.message}`, { cause: e }));
    const onAbort = () => {
      const reason = signal.reason;
      finish(
        reason instanceof BridgeError ? reason : new BridgeError(499, `request to ${target} was cancelled`),
      );
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("close", onClose);
    stream.once("error", onError);
    stream.write(frame);
  });
}
