import {
  constants,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { Server } from "node:net";
import type { Place } from "../call/call.ts";
import { type Clock, systemClock } from "../clock/clock.ts";
import { errorResponse } from "./error-response.ts";
import type { Admission, ListenerGuard } from "./limits/admission.ts";
import type { ServerLimits } from "./server-limits.ts";
import type { InboundTunnel, PeerInfo, ServerHandlers, TunnelProtocol } from "./transport.ts";

/** Header naming the tunnel protocol on a CONNECT stream; absent means tcp. */
export const TUNNEL_PROTOCOL_HEADER = "weft-tunnel";
/** Header carrying why a CONNECT stream was refused. */
export const TUNNEL_ERROR_HEADER = "weft-tunnel-error";

type PeerOf = (session: ServerHttp2Session) => PeerInfo;

interface SessionState {
  readonly peer: PeerInfo;
  open: number;
  /** Streams reset before they were answered in the window that began at `resetWindowStart`. */
  resets: number;
  resetWindowStart: number;
}

const RESET_WINDOW_MS = 1000;

function ignore(): void {}

/**
 * What every transport's server shares: session bookkeeping, the idle timeout, dispatch of
 * requests and CONNECT streams with the peer's identity, and a graceful close.
 */
export class ServerCore {
  readonly #handlers: ServerHandlers;
  readonly #limits: ServerLimits;
  readonly #sessions = new Map<ServerHttp2Session, SessionState>();
  readonly #closed = new Set<() => void>();
  readonly #clock: Clock;
  readonly #admission: Admission;
  readonly #guard: ListenerGuard;
  readonly #place: Place;

  constructor(handlers: ServerHandlers, limits: ServerLimits, clock: Clock = systemClock) {
    this.#handlers = handlers;
    this.#limits = limits;
    this.#clock = clock;
    this.#place = limits.place ?? "server";
    this.#admission = limits.admission;
    this.#guard = this.#admission.guard({ name: "mesh", maxConnections: limits.maxConnections });
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Caps at accept a server that hands its sockets to the attached ones (ListenerGuard.addFront). */
  attachFront(server: Server): void {
    this.#guard.addFront(server);
  }

  /** Serves the sessions of `server`; `peerOf` says who is on the other end of each. */
  attach(server: Http2Server | Http2SecureServer, peerOf: PeerOf): void {
    this.#guard.add(server);
    server.on("session", (session: ServerHttp2Session) => this.#onSession(session, peerOf(session)));
    server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      this.#onStream(stream, headers),
    );
    // Session and TLS errors are per connection; they must never take the server down.
    server.on("sessionError", ignore);
    server.on("tlsClientError", ignore);
  }

  #onSession(session: ServerHttp2Session, peer: PeerInfo): void {
    const state: SessionState = { peer, open: 0, resets: 0, resetWindowStart: 0 };
    this.#sessions.set(session, state);
    session.on("error", ignore);
    session.once("close", () => {
      this.#sessions.delete(session);
      for (const wake of this.#closed) wake();
    });
    // Only an idle session is closed: a quiet long-lived tunnel is still in use.
    session.setTimeout(this.#limits.sessionIdleTimeoutMs, () => {
      if (state.open === 0) session.close();
    });
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on("error", ignore);
    const session = stream.session as ServerHttp2Session;
    const state = this.#sessions.get(session);
    if (!state) {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    state.open++;
    stream.once("close", () => {
      state.open--;
      // A reset before the answer is what rapid reset (CVE-2023-44487) repeats: the server
      // started work the peer threw away. Resets after the headers (a body that failed
      // midway) are not counted, so an upstream failing mid-response cannot trip this.
      if (stream.rstCode !== constants.NGHTTP2_NO_ERROR && !stream.headersSent) {
        this.#countReset(session, state);
      }
    });
    if (this.#admission.shedding) {
      this.#shed(stream, headers);
      return;
    }
    if (headers[":method"] !== "CONNECT") {
      this.#handlers.request(stream, headers, state.peer);
      return;
    }
    const tunnelHandler = this.#handlers.tunnel;
    if (!tunnelHandler) {
      stream.respond(
        { ":status": 501, [TUNNEL_ERROR_HEADER]: "this server accepts no tunnels" },
        { endStream: true },
      );
      return;
    }
    tunnelHandler(inboundTunnel(stream, headers, state.peer, this.#limits.tunnelIdleTimeoutMs));
  }

  /** Refuses a request while the process is overloaded: 503 (or its gRPC/Connect form), weft-error. */
  #shed(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    this.#admission.shedRequests++;
    const r = errorResponse(headers["content-type"], this.#admission.overloadError(this.#place));
    stream.respond({ ...r.headers, ":status": r.status }, { endStream: r.body === undefined });
    if (r.body) stream.end(r.body);
    // The body is not wanted; reading it lets the stream end instead of waiting on flow control.
    stream.resume();
  }

  #countReset(session: ServerHttp2Session, state: SessionState): void {
    if (session.destroyed || session.closed) return;
    const now = this.#clock.now();
    if (now - state.resetWindowStart >= RESET_WINDOW_MS) {
      state.resetWindowStart = now;
      state.resets = 0;
    }
    if (++state.resets > this.#limits.maxStreamResetsPerSecond) {
      // GOAWAY(ENHANCE_YOUR_CALM) tells a well-meaning client why; destroy stops the work now.
      // (destroy(undefined, code) would send NO_ERROR: Node defaults `error` to a code.)
      const limit = this.#limits.maxStreamResetsPerSecond;
      const reason = `rapid reset: ${state.resets} streams reset before an answer within 1 s (limit ${limit}) by ${state.peer.remoteAddress ?? "a peer"}`;
      session.destroy(new Error(reason), constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  /** GOAWAY to every session; after `graceMs`, destroys those still open. */
  async closeSessions(graceMs: number): Promise<void> {
    for (const session of this.#sessions.keys()) session.close();
    if (this.#sessions.size === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        if (this.#sessions.size > 0) return;
        clearTimeout(timer);
        this.#closed.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        for (const session of this.#sessions.keys()) session.destroy();
      }, graceMs);
      this.#closed.add(done);
    });
  }
}

function inboundTunnel(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  peer: PeerInfo,
  idleTimeoutMs: number,
): InboundTunnel {
  const protocol: TunnelProtocol = headers[TUNNEL_PROTOCOL_HEADER] === "udp" ? "udp" : "tcp";
  let answered = false;
  return {
    authority: headers[":authority"] ?? "",
    protocol,
    peer,
    headers,
    accept() {
      if (answered) throw new Error(`tunnel to ${headers[":authority"]} was already answered`);
      answered = true;
      stream.respond({ ":status": 200 });
      // A tunnel nobody uses any more holds a stream slot and the relay's socket to the app.
      stream.setTimeout(idleTimeoutMs, () => stream.close(constants.NGHTTP2_CANCEL));
      return stream;
    },
    reject(status, reason) {
      if (answered || stream.destroyed) return;
      answered = true;
      const head: Record<string, string | number> = { ":status": status };
      if (reason) head[TUNNEL_ERROR_HEADER] = reason;
      stream.respond(head, { endStream: true });
    },
  };
}

/** Peer info for a session whose socket proves nothing (h2c). */
export function plaintextPeer(session: ServerHttp2Session): PeerInfo {
  return { identity: undefined, secure: false, remoteAddress: session.socket?.remoteAddress };
}
