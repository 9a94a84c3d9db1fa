import {
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Code } from "@connectrpc/connect";
import { type Canceller, watchAbort } from "../call/cancellation.ts";
import { codeFromHttpStatus } from "../errors/codes.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { CallWatch } from "./call-watch.ts";
import {
  ConnectionPool,
  type PoolEndpoint,
  type PooledSession,
  type PoolOptions,
  type PoolStats,
} from "./pool.ts";
import { TUNNEL_ERROR_HEADER, TUNNEL_PROTOCOL_HEADER } from "./server-core.ts";
import { provenance, streamFailure } from "./stream-errors.ts";
import type { TunnelProtocol } from "./transport.ts";

export type RequestBody = Uint8Array | string | AsyncIterable<Uint8Array>;
export type Trailers = Headers | Record<string, string>;

export interface RequestInit {
  readonly method: string;
  readonly path: string;
  /** `:authority`: the destination service on the mesh wire. */
  readonly authority: string;
  readonly headers?: Headers | Record<string, string>;
  readonly body?: RequestBody;
  /**
   * Request trailers, sent after the body (the stream waits for them). A function is called
   * once the body has been written, for trailers known only then (a proxied HTTP/1.1 body's).
   */
  readonly trailers?: Trailers | (() => Trailers | undefined);
  /** Stops the exchange when aborted: an AbortSignal, or the call's Cancellation (no signal made). */
  readonly signal?: Canceller;
  /** Absolute deadline on the pool's clock (ms), for the whole exchange including the body. */
  readonly deadline?: number;
  /** SPIFFE ID the server must prove; defaults to endpoint.identity when not empty. */
  readonly expectedIdentity?: string;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The response body; read it to the end (or destroy it) to free the stream slot. */
  readonly body: Readable;
  /** Resolves with the trailers (empty when none) once the body ended; rejects with MeshError. */
  readonly trailers: Promise<Headers>;
}

export interface TunnelInit {
  /** `host:port` to reach from the far side. */
  readonly authority: string;
  readonly protocol: TunnelProtocol;
  /** Destroys the tunnel when aborted: an AbortSignal, or the call's Cancellation. */
  readonly signal?: Canceller;
  /** Absolute deadline on the pool's clock for the tunnel to be established (not for its life). */
  readonly deadline?: number;
  readonly expectedIdentity?: string;
}

// Connection-specific headers are forbidden in HTTP/2 (RFC 9113 8.2.2); Node throws on them.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

function noop(): void {}

/**
 * The client side of the mesh wire over any Transport: requests and CONNECT tunnels on pooled
 * sessions, failures as MeshError (provenance: the pool's place, plugin "transport").
 */
export class TransportClient {
  readonly pool: ConnectionPool;

  constructor(options: PoolOptions) {
    this.pool = new ConnectionPool(options);
  }

  async request(endpoint: PoolEndpoint, init: RequestInit): Promise<TransportResponse> {
    const headers: OutgoingHttpHeaders = {
      ":method": init.method,
      ":path": init.path,
      ":authority": init.authority,
    };
    if (init.headers) copyHeaders(init.headers, headers);
    const withTrailers = init.trailers !== undefined;
    const endStream = init.body === undefined && !withTrailers;
    const { session, stream, watch } = await this.#open(endpoint, init, headers, endStream, withTrailers);
    return new Promise((resolve, reject) => {
      let responded = false;
      let error: unknown;
      let received: Headers | undefined;
      let settleTrailers!: (h: Headers) => void;
      let failTrailers!: (e: unknown) => void;
      const trailers = new Promise<Headers>((res, rej) => {
        settleTrailers = res;
        failTrailers = rej;
      });
      // The caller may never look at trailers; their failure must not be an unhandled rejection.
      trailers.catch(noop);
      stream.on("error", (err) => {
        error ??= err;
      });
      stream.once("trailers", (h: IncomingHttpHeaders) => {
        received = toHeaders(h);
      });
      stream.once("response", (h: IncomingHttpHeaders) => {
        responded = true;
        resolve({ status: Number(h[":status"]), headers: toHeaders(h), body: stream, trailers });
      });
      stream.once("close", () => {
        this.pool.release(endpoint.key, session);
        watch.dispose();
        if (responded && stream.rstCode === constants.NGHTTP2_NO_ERROR && !error && !watch.reason) {
          settleTrailers(received ?? new Headers());
          return;
        }
        const failure =
          watch.reason ??
          streamFailure(this.pool.place, {
            key: endpoint.key,
            streamId: stream.id,
            rstCode: stream.rstCode,
            goawayLastStreamId: session.goawayLastStreamId,
            error,
          });
        failTrailers(failure);
        if (!responded) reject(failure);
      });
      watch.onStop(() => {
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      });
      if (withTrailers) {
        stream.once("wantTrailers", () => {
          const given = typeof init.trailers === "function" ? init.trailers() : init.trailers;
          const out: OutgoingHttpHeaders = {};
          if (given) copyHeaders(given, out);
          stream.sendTrailers(out);
        });
      }
      if (init.body !== undefined) writeBody(stream, init.body);
      else if (withTrailers) stream.end();
    });
  }

  /**
   * An HTTP/2 CONNECT stream to `authority` through the endpoint (HBONE): a byte stream for
   * tcp, length-prefixed datagrams for udp (see datagram.ts).
   */
  async openTunnel(endpoint: PoolEndpoint, init: TunnelInit): Promise<ClientHttp2Stream> {
    const headers: OutgoingHttpHeaders = { ":method": "CONNECT", ":authority": init.authority };
    if (init.protocol !== "tcp") headers[TUNNEL_PROTOCOL_HEADER] = init.protocol;
    const { session, stream, watch } = await this.#open(endpoint, init, headers, false);
    return new Promise((resolve, reject) => {
      let established = false;
      let error: unknown;
      stream.on("error", (err) => {
        error ??= err;
      });
      stream.once("response", (h: IncomingHttpHeaders) => {
        const status = Number(h[":status"]);
        if (status === 200) {
          established = true;
          watch.dispose();
          if (init.signal) {
            const unwatch = watchAbort(init.signal, (reason) => stream.destroy(reason as Error));
            stream.once("close", unwatch);
          }
          resolve(stream);
          return;
        }
        const why = h[TUNNEL_ERROR_HEADER];
        reject(
          new MeshError(
            codeFromHttpStatus(status) ?? Code.Unavailable,
            `tunnel to ${init.authority} through ${endpoint.key} was refused with status ${status}${why ? `: ${why}` : ""}`,
            provenance(this.pool.place),
          ),
        );
        stream.close();
      });
      stream.once("close", () => {
        this.pool.release(endpoint.key, session);
        watch.dispose();
        if (established) return;
        reject(
          watch.reason ??
            streamFailure(this.pool.place, {
              key: endpoint.key,
              streamId: stream.id,
              rstCode: stream.rstCode,
              goawayLastStreamId: session.goawayLastStreamId,
              error,
            }),
        );
      });
      watch.onStop(() => {
        if (!established && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      });
    });
  }

  drain(endpointKey: string): Promise<void> {
    return this.pool.drain(endpointKey);
  }

  stats(endpointKey: string): PoolStats | undefined {
    return this.pool.stats(endpointKey);
  }

  close(): void {
    this.pool.close();
  }

  /** Takes a stream slot and starts the stream; retries on a session that died under it. */
  async #open(
    endpoint: PoolEndpoint,
    init: { signal?: Canceller; deadline?: number; expectedIdentity?: string },
    headers: OutgoingHttpHeaders,
    endStream: boolean,
    waitForTrailers = false,
  ): Promise<{ session: PooledSession; stream: ClientHttp2Stream; watch: CallWatch }> {
    const expected = init.expectedIdentity ?? (endpoint.identity ? endpoint.identity : undefined);
    const watch = new CallWatch(this.pool.clock, this.pool.place, endpoint.key, init.signal, init.deadline);
    for (let attempt = 1; ; attempt++) {
      let session: PooledSession;
      try {
        session = await this.pool.acquire(endpoint, expected, watch);
      } catch (err) {
        watch.dispose();
        throw err;
      }
      try {
        const stream = session.session.request(headers, { endStream, waitForTrailers });
        watch.sent = true;
        return { session, stream, watch };
      } catch (err) {
        // The session went away between acquire and request (GOAWAY, destroyed): nothing was sent.
        session.open = false;
        this.pool.release(endpoint.key, session);
        if (attempt < 3) continue;
        watch.dispose();
        throw streamFailure(this.pool.place, {
          key: endpoint.key,
          streamId: undefined,
          rstCode: undefined,
          goawayLastStreamId: session.goawayLastStreamId,
          error: err,
        });
      }
    }
  }
}

function copyHeaders(from: Headers | Record<string, string>, to: OutgoingHttpHeaders): void {
  // Any Headers implementation (the call's MeshHeaders, Fetch's), not only Fetch's class.
  const entries = typeof from.entries === "function" ? (from as Headers).entries() : Object.entries(from);
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower.startsWith(":")) continue;
    if (lower === "te" && value !== "trailers") continue;
    to[lower] = value;
  }
}

/** Response headers or trailers as a Headers object, pseudo-headers left out. */
export function toHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const name in h) {
    if (name.startsWith(":")) continue;
    const value = h[name];
    if (Array.isArray(value)) for (const v of value) out.append(name, v);
    else if (value !== undefined) out.append(name, value);
  }
  return out;
}

function writeBody(stream: ClientHttp2Stream, body: RequestBody): void {
  if (typeof body === "string" || body instanceof Uint8Array) {
    stream.end(body);
    return;
  }
  pipeline(body, stream).catch((err) => stream.destroy(err));
}
