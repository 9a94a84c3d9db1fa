import type { ClientHttp2Session, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import type { PeerIdentity } from "../call/call.ts";
import type { ServerLimits } from "./server-limits.ts";

/** Where a client connects: an endpoint's address and port, and the identity it must prove. */
export interface ConnectTarget {
  /** `address:port`, the pool key. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /**
   * SPIFFE ID the server must present (endpoint.identity, else the destination's). Required by
   * transports that authenticate servers (mtls-h2); ignored by plaintext ones.
   */
  readonly expectedIdentity: string | undefined;
  /** Aborted when the connect attempt must give up (timeout, caller gone). */
  readonly signal: AbortSignal;
}

/** An HTTP/2 session a transport opened, and who is on the other end. */
export interface OpenedSession {
  readonly session: ClientHttp2Session;
  /** The server's SPIFFE ID, as proven by its certificate; undefined on plaintext transports. */
  readonly peerId: string | undefined;
  /** The connection under the session: its errors before the first SETTINGS mean "not connected". */
  readonly socket: Duplex;
}

/** Who sent a request or opened a tunnel, as the server saw it. */
export interface PeerInfo {
  /** From the client certificate (or the memory transport's declared identity), never a header. */
  readonly identity: PeerIdentity | undefined;
  /** True when the connection was mutually authenticated TLS. */
  readonly secure: boolean;
  readonly remoteAddress: string | undefined;
}

/** A CONNECT stream (HBONE) a server received: accept it to get the byte stream, or refuse it. */
export interface InboundTunnel {
  /** `host:port` the client wants to reach. */
  readonly authority: string;
  readonly protocol: TunnelProtocol;
  readonly peer: PeerInfo;
  readonly headers: IncomingHttpHeaders;
  /** Sends 200 and returns the stream: bytes for tcp, length-prefixed datagrams for udp. */
  accept(): ServerHttp2Stream;
  /** Refuses with an HTTP status (502 when the target is unreachable, 403 when not allowed). */
  reject(status: number, reason?: string): void;
}

export type TunnelProtocol = "tcp" | "udp";

/** What a mesh server does with what arrives. */
export interface ServerHandlers {
  /** An ordinary HTTP/2 request (L7): the handler responds on the stream. */
  request(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer: PeerInfo): void;
  /** A CONNECT stream (L4); when absent, CONNECT is answered 501. */
  tunnel?(tunnel: InboundTunnel): void;
}

export interface ListenOptions {
  /** Defaults to 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. Defaults to 15008, the mesh inbound port. */
  readonly port?: number;
  /** strict: mTLS only; permissive: also plaintext h2c on the same port (mtls-h2 only). */
  readonly mode?: "strict" | "permissive";
  /** Overrides of the HTTP/2 limits; see server-limits.ts for the defaults. */
  readonly limits?: Partial<ServerLimits>;
}

/** A listening mesh server. */
export interface MeshServer {
  readonly address: string;
  readonly port: number;
  /** Open HTTP/2 sessions (connections) right now. */
  readonly sessionCount: number;
  /**
   * Stops accepting, sends GOAWAY to every session, lets in-flight streams finish for up to
   * `graceMs` (default 0), then destroys what is left.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * A way to open and serve mesh connections. The pool, tunnels and probes work over any
 * transport; users register their own in a TransportRegistry.
 */
export interface Transport {
  readonly name: string;
  /** Opens one HTTP/2 session; rejects when the connection or its handshake fails. */
  connect(target: ConnectTarget): Promise<OpenedSession>;
  listen(options: ListenOptions, handlers: ServerHandlers): Promise<MeshServer>;
}
