import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code } from "@connectrpc/connect";
import type { Place } from "@weft/core";
import { MeshError } from "@weft/core";
import { errorResponse } from "@weft/core/transport";
import type { Stats } from "../admin/stats.ts";
import { forwardableHeaders, forwardableTrailers } from "./headers.ts";
import { MAX_HEADER_COUNT } from "./limits.ts";
import { describeUpstream, type Upstream, type UpstreamPool } from "./upstream.ts";

export type FrontRequest = IncomingMessage | Http2ServerRequest;
export type FrontResponse = ServerResponse | Http2ServerResponse;

/** Picks the upstream of a request, or throws a MeshError saying why there is none. */
export type Resolve = (req: FrontRequest) => Upstream;

export interface ProxyOptions {
  readonly place: Place;
  readonly pool: UpstreamPool;
  readonly resolve: Resolve;
  readonly stats: Stats;
}

/**
 * Whether the response was ended by this side: checked on "close" to tell a caller that went
 * away (abort the upstream exchange) from an exchange that is over (aborting it would build a
 * DOMException and destroy the upstream request, keep-alive connection included). An HTTP/2
 * stream is not yet writableFinished at "close" ("finish" comes after), and a trailers-only
 * answer ends the stream under the compat response, so the stream's own end is what counts.
 */
export function responseEnded(res: FrontResponse): boolean {
  const h2 = (res as Http2ServerResponse).stream;
  return h2 ? h2.writableEnded : res.writableEnded;
}

/** Requests being served, so a drain knows when it is done. */
export class InFlight {
  count = 0;
  #waiters: (() => void)[] = [];
  enter(): void {
    this.count++;
  }
  leave(): void {
    this.count--;
    if (this.count === 0) for (const w of this.#waiters.splice(0)) w();
  }
  /** Counts a response in flight until it finishes or its stream closes, whichever is first. */
  track(res: FrontResponse): void {
    this.enter();
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.leave();
    };
    res.once("close", leave);
    res.once("finish", leave);
  }
  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((r) => this.#waiters.push(r));
  }
}

/**
 * The request handler of a listener: forwards each request (HTTP/1.1 or HTTP/2, the compat API
 * gives both one shape) to the upstream `resolve` picks, streaming the body both ways and
 * carrying trailers, and answers a mesh failure with its status and a `weft-error` header
 * (gRPC callers get a trailers-only response with grpc-status).
 */
export function createProxyHandler(options: ProxyOptions, inFlight: InFlight) {
  const { place, pool, resolve, stats } = options;
  return (req: FrontRequest, res: FrontResponse): void => {
    inFlight.track(res);
    if (req.rawHeaders.length / 2 > MAX_HEADER_COUNT) {
      stats.inc("weft_sidecar_refused_total", { place, reason: "too_many_headers" });
      refuse(res, 431, `more than ${MAX_HEADER_COUNT} header fields`);
      return;
    }
    const contentType = String(req.headers["content-type"] ?? "");
    const abort = new AbortController();
    req.once("aborted", () => abort.abort());
    res.once("close", () => {
      if (!responseEnded(res)) abort.abort();
    });
    let upstream: Upstream;
    try {
      upstream = resolve(req);
    } catch (err) {
      fail(res, place, contentType, err, stats);
      req.resume();
      return;
    }
    stats.inc("weft_sidecar_requests_total", {
      place,
      protocol: req.httpVersionMajor === 2 ? "h2" : "http1",
    });
    pool
      .send(upstream, {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: forwardableHeaders(req.headers),
        body: req as NodeJS.ReadableStream & { trailers?: NodeJS.Dict<string> },
        signal: abort.signal,
      })
      .then(async (up) => {
        const headers = forwardableHeaders(up.headers);
        // A head that carries grpc-status is a trailers-only response: it must reach the
        // client as one HEADERS frame with END_STREAM, as gRPC clients require.
        if (up.endStream || up.headers["grpc-status"] !== undefined) {
          up.body.resume();
          const h2 = (res as Http2ServerResponse).stream;
          if (h2 && !h2.headersSent) h2.respond({ ...headers, ":status": up.status }, { endStream: true });
          else (res as ServerResponse).writeHead(up.status, headers).end();
          return;
        }
        (res as ServerResponse).writeHead(up.status, headers);
        up.body.on("data", (chunk) => {
          if (!(res as NodeJS.WritableStream).write(chunk)) {
            up.body.pause();
            res.once("drain", () => up.body.resume());
          }
        });
        const trailers = forwardableTrailers(await up.trailers);
        if (trailers) res.addTrailers(trailers);
        res.end();
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        fail(res, place, contentType, err, stats, upstream);
      });
  };
}

function fail(
  res: FrontResponse,
  place: Place,
  contentType: string,
  err: unknown,
  stats: Stats,
  upstream?: Upstream,
): void {
  const e =
    err instanceof MeshError
      ? err
      : new MeshError(
          Code.Unavailable,
          `${upstream ? describeUpstream(upstream) : "upstream"} failed: ${(err as Error).message}`,
          { place, plugin: "proxy", policy: "" },
          { cause: err },
        );
  stats.inc("weft_sidecar_failed_total", { place, code: String(e.code) });
  if (res.headersSent) {
    // The head went out already: the only honest signal left is cutting the stream.
    const h2 = (res as Http2ServerResponse).stream;
    if (h2) h2.close(0x2 /* INTERNAL_ERROR */);
    else (res as ServerResponse).destroy();
    return;
  }
  // The caller's own protocol: gRPC status, Connect error or HTTP status, as core writes it.
  const r = errorResponse(contentType, e);
  const h2 = (res as Http2ServerResponse).stream;
  if (h2) {
    // Reset by the caller (or by the front for a bad content-length): nobody to answer, and
    // respond() on a destroyed stream throws.
    if (h2.destroyed || h2.closed) return;
    h2.respond({ ...r.headers, ":status": r.status }, { endStream: r.body === undefined });
    if (r.body) h2.end(r.body);
    return;
  }
  (res as ServerResponse).writeHead(r.status, r.headers);
  if (r.body) res.end(r.body);
  else res.end();
}

function refuse(res: FrontResponse, status: number, reason: string): void {
  const h1 = !(res as Http2ServerResponse).stream;
  if (h1) (res as ServerResponse).shouldKeepAlive = false;
  (res as ServerResponse).writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    ...(h1 ? { connection: "close" } : {}),
  });
  res.end(`${reason}\n`);
}
