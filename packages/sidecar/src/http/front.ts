import http, { type IncomingMessage } from "node:http";
import http2 from "node:http2";
import type { Socket } from "node:net";
import type { Place } from "@weft/core";
import { defaultServerLimits, errorResponse } from "@weft/core/transport";
import type { Stats } from "../admin/stats.ts";
import {
  type Admission,
  http1ServerOptions,
  http2FrontOptions,
  MAX_HEADER_COUNT,
  resolveSidecarLimits,
  type SidecarLimits,
} from "./limits.ts";
import {
  createProxyHandler,
  type FrontRequest,
  type FrontResponse,
  InFlight,
  type Resolve,
} from "./proxy.ts";
import { checkRequest, type UnderscoreAction } from "./request-checks.ts";
import { toOriginForm } from "./request-target.ts";
import { openStream, type UpstreamPool } from "./upstream.ts";

export interface FrontOptions {
  readonly place: Place;
  readonly pool: UpstreamPool;
  readonly resolve: Resolve;
  readonly stats: Stats;
  /** Serves requests itself instead of proxying them to `resolve`'s upstream (the conversion port). */
  readonly handler?: (inFlight: InFlight) => (req: FrontRequest, res: FrontResponse) => void;
  /** Timeouts and buffer sizes; see limits.ts for the defaults. */
  readonly limits?: Partial<SidecarLimits>;
  /** Sheds requests while the process is overloaded; defaults to the one core's servers share. */
  readonly admission?: Admission;
  /** Header names with "_": forwarded (default, as Envoy), refused with 400, or dropped. */
  readonly headersWithUnderscores?: UnderscoreAction;
  /** CONNECT requests, HTTP/1.1 (the socket is the handler's) and HTTP/2; without, Node refuses them. */
  readonly connect?: {
    http1(req: IncomingMessage, socket: Socket, head: Buffer): void;
    http2(req: FrontRequest, res: FrontResponse): void;
  };
}

/**
 * The HTTP side of a listener: a strict HTTP/1.1 server and an h2c server that are never bound
 * to a port themselves; the listener hands them sockets it has sniffed. WebSocket (and any
 * other) upgrades are tunnelled byte for byte to the upstream once the head has been checked.
 */
export class HttpFront {
  readonly inFlight = new InFlight();
  readonly #h1: http.Server;
  readonly #h2: http2.Http2Server;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #tunnels = new Set<Socket>();
  readonly #options: FrontOptions;
  readonly #limits: SidecarLimits;
  #draining = false;

  constructor(options: FrontOptions) {
    this.#options = options;
    this.#limits = resolveSidecarLimits(options.limits);
    const proxy = options.handler?.(this.inFlight) ?? createProxyHandler(options, this.inFlight);
    const admission = options.admission ?? defaultServerLimits.admission;
    const handler = (req: FrontRequest, res: FrontResponse) => {
      if (admission.shedding) {
        shed(req, res, admission, options);
        return;
      }
      const refusal = checkRequest(req, options.headersWithUnderscores ?? "allow");
      if (refusal) {
        options.stats.inc("weft_sidecar_refused_total", { place: options.place, reason: refusal.counter });
        req.resume();
        const h1 = req.httpVersionMajor < 2;
        if (h1) (res as http.ServerResponse).shouldKeepAlive = false;
        (res as http.ServerResponse).writeHead(refusal.status, {
          "content-type": "text/plain; charset=utf-8",
          ...(h1 ? { connection: "close" } : {}),
        });
        res.end(`${refusal.reason}\n`);
        return;
      }
      const h2 = (res as http2.Http2ServerResponse).stream;
      // A stream nghttp2 resets for a protocol error (a content-length its DATA frames broke)
      // closes without Node's compat request emitting "aborted": say it, before the upstream
      // request fails and the handler tries to answer on the dead stream (which throws).
      if (h2) h2.once("close", () => h2.rstCode !== http2.constants.NGHTTP2_NO_ERROR && req.emit("aborted"));
      proxy(req, res);
    };
    this.#h1 = http.createServer(http1ServerOptions(this.#limits), (req, res) => {
      if (this.#draining) res.shouldKeepAlive = false;
      if (!toOriginForm(req)) {
        options.stats.inc("weft_sidecar_refused_total", {
          place: options.place,
          reason: "bad_request_target",
        });
        res.shouldKeepAlive = false;
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8", connection: "close" });
        res.end("the request target is neither a path nor an http(s) URL with a host\n");
        return;
      }
      handler(req, res);
    });
    // Node runs its headers and request timeouts from a timer it starts on "listening"; this
    // server is never bound (sockets are handed to it), so without this a slowloris head that
    // never ends would hold its connection forever.
    this.#h1.emit("listening");
    // A client that half-closes after its request still gets the answer (Node's default would
    // abort the request on the client's FIN); the socket is ended after the last response.
    // (Node's own switch for this, not in its type definitions.)
    (this.#h1 as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    // Node drops header fields past maxHeadersCount without a word; one over the limit lets the
    // handler see that there were too many and answer 431.
    this.#h1.maxHeadersCount = MAX_HEADER_COUNT + 1;
    this.#h1.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      const code = err.code ?? "";
      const status = code === "HPE_HEADER_OVERFLOW" ? 431 : code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
      options.stats.inc("weft_sidecar_refused_total", {
        place: options.place,
        reason: code || "client_error",
      });
      if (socket.writable)
        socket.end(
          `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
        );
      else socket.destroy();
    });
    this.#h1.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#tunnel(req, socket, head),
    );
    if (options.connect) this.#h1.on("connect", options.connect.http1);
    this.#h2 = http2.createServer(http2FrontOptions(), handler);
    if (options.connect) this.#h2.on("connect", options.connect.http2);
    this.#h2.on("session", (s) => {
      this.#sessions.add(s);
      s.on("error", () => s.destroy());
      s.setTimeout(this.#limits.h2IdleTimeoutMs, () => s.close());
      s.once("close", () => this.#sessions.delete(s));
      if (this.#draining) s.close();
    });
  }

  /** The limits in force (a CONNECT or upgrade tunnel takes its TCP idle timeout from here). */
  get limits(): SidecarLimits {
    return this.#limits;
  }

  /** Serves a socket whose first bytes (already put back) are HTTP/1 or the HTTP/2 preface. */
  accept(socket: Socket, protocol: "http1" | "http2"): void {
    (protocol === "http1" ? this.#h1 : this.#h2).emit("connection", socket);
    socket.resume();
  }

  /**
   * Stops taking new requests: HTTP/1 connections close after their current response, HTTP/2
   * sessions get GOAWAY. Resolves when nothing is in flight or after `graceMs`, then cuts the rest.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    this.#h1.closeIdleConnections();
    for (const s of this.#sessions) s.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.inFlight.idle(),
      new Promise<void>((r) => {
        timer = setTimeout(r, graceMs);
      }),
    ]);
    clearTimeout(timer);
    this.close();
  }

  /** Ends every connection now. */
  close(): void {
    this.#draining = true;
    this.#h1.closeAllConnections();
    for (const s of this.#sessions) s.destroy();
    for (const t of this.#tunnels) t.destroy();
    // Stops the timeout timer "listening" started (the server itself was never bound).
    this.#h1.close();
  }

  #tunnel(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const { stats, place } = this.#options;
    let upstream: ReturnType<Resolve>;
    try {
      upstream = this.#options.resolve(req);
    } catch (err) {
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\nweft-error: ${(err as Error).message.replace(/[\r\n]/g, " ")}\r\n\r\n`,
      );
      return;
    }
    stats.inc("weft_sidecar_upgrades_total", { place });
    this.#tunnels.add(socket);
    socket.once("close", () => this.#tunnels.delete(socket));
    socket.setTimeout(this.#limits.tcpIdleTimeoutMs, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    openStream(this.#options.pool, upstream).then(
      (out) => {
        if (socket.destroyed) {
          out.destroy();
          return;
        }
        // The request head goes first, as received; the upstream's 101 (or refusal) comes back raw.
        out.write(`${lines.join("\r\n")}\r\n\r\n`);
        if (head.length > 0) out.write(head);
        out.pipe(socket);
        socket.pipe(out);
        const end = () => {
          socket.destroy();
          out.destroy();
        };
        out.once("error", end);
        out.once("close", end);
        socket.once("close", end);
      },
      (err: Error) => {
        stats.inc("weft_sidecar_failed_total", { place, code: "upgrade" });
        socket.end(
          `HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\nweft-error: ${err.message.replace(/[\r\n]/g, " ")}\r\n\r\n`,
        );
      },
    );
  }
}

/** A request refused while the process is overloaded: 503 in the caller's protocol, with weft-error. */
function shed(req: FrontRequest, res: FrontResponse, admission: Admission, o: FrontOptions): void {
  admission.shedRequests++;
  o.stats.inc("weft_sidecar_refused_total", { place: o.place, reason: "overload" });
  const r = errorResponse(String(req.headers["content-type"] ?? ""), admission.overloadError(o.place));
  const out = res as http.ServerResponse;
  out.writeHead(r.status, r.headers);
  if (r.body) out.end(r.body);
  else out.end();
  req.resume();
}
