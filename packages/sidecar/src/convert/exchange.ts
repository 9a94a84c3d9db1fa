import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerResponse, ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";
import type { FrontRequest, FrontResponse } from "../http/proxy.ts";

/**
 * One request and its response, whichever server took it: the mesh inbound port (a raw HTTP/2
 * stream) or the conversion port (HTTP/1.1 or h2c through the compat API). The converter
 * writes every protocol through this, so it is written once for both.
 */
export interface Exchange {
  readonly method: string;
  /** Path and query, as received. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** Aborted when the client goes away before the response has ended. */
  readonly signal: AbortSignal;
  readonly closed: boolean;
  /** True once the head is out: an error can then only end or cut the stream. */
  readonly headSent: boolean;
  /**
   * Sends the head. `then` says what follows: nothing (`end`: one HEADERS frame with
   * END_STREAM, what a gRPC trailers-only response must be), a body, or a body and trailers.
   */
  head(status: number, headers: OutgoingHttpHeaders, then: "end" | "body" | "trailers"): void;
  /** Resolves when the chunk may be followed by more (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the body; trailers only after a head sent with "trailers". Resolves once flushed. */
  end(chunk?: Uint8Array, trailers?: OutgoingHttpHeaders): Promise<void>;
  /** Cuts the response (its head went out, so no error can be written any more). */
  cut(): void;
}

/** The compat API's request and response: an HTTP/2 one is served on its raw stream. */
export function exchangeOf(req: FrontRequest, res: FrontResponse): Exchange {
  const h2 = (res as Http2ServerResponse).stream as ServerHttp2Stream | undefined;
  if (h2) return streamExchange(h2, req.headers, req as Readable, res as Http2ServerResponse);
  return http1Exchange(req as Readable & FrontRequest, res as ServerResponse);
}

/**
 * A raw HTTP/2 stream; with the compat API, its request reads the body and its response owns
 * the stream's trailers (it answers `wantTrailers` itself), so trailers are handed to it.
 */
export function streamExchange(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  body: Readable = stream,
  compat?: Http2ServerResponse,
): Exchange {
  const abort = new AbortController();
  stream.once("close", () => {
    if (!stream.writableEnded) abort.abort();
  });
  let trailers: OutgoingHttpHeaders = {};
  return {
    method: String(headers[":method"] ?? "GET"),
    path: String(headers[":path"] ?? "/"),
    headers,
    body,
    signal: abort.signal,
    get closed() {
      return stream.destroyed || stream.closed;
    },
    get headSent() {
      return stream.headersSent;
    },
    head(status, h, then) {
      if (then === "trailers" && !compat) stream.once("wantTrailers", () => stream.sendTrailers(trailers));
      stream.respond(
        { ...h, ":status": status },
        { endStream: then === "end", waitForTrailers: then === "trailers" },
      );
    },
    write: (chunk) => writeTo(stream, chunk),
    end(chunk, t) {
      if (t && compat) compat.addTrailers(t);
      else if (t) trailers = t;
      return new Promise((resolve) => {
        if (stream.destroyed) resolve();
        else stream.end(chunk ?? new Uint8Array(0), () => resolve());
      });
    },
    cut() {
      if (!stream.destroyed) stream.close(0x2 /* INTERNAL_ERROR */);
    },
  };
}

function http1Exchange(req: Readable & FrontRequest, res: ServerResponse): Exchange {
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableEnded) abort.abort();
  });
  return {
    method: req.method ?? "GET",
    path: req.url ?? "/",
    headers: req.headers,
    body: req,
    signal: abort.signal,
    get closed() {
      return res.destroyed;
    },
    get headSent() {
      return res.headersSent;
    },
    head(status, h) {
      res.writeHead(status, h);
    },
    write: (chunk) => writeTo(res, chunk),
    end(chunk, t) {
      if (t) res.addTrailers(t);
      return new Promise((resolve) => {
        if (res.destroyed) resolve();
        else res.end(chunk ?? new Uint8Array(0), () => resolve());
      });
    },
    cut() {
      res.destroy();
    },
  };
}

function writeTo(out: NodeJS.WritableStream & { destroyed: boolean }, chunk: Uint8Array): Promise<void> {
  if (out.destroyed) return Promise.resolve();
  if (out.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      resolve();
    };
    out.once("drain", done);
    out.once("close", done);
  });
}
