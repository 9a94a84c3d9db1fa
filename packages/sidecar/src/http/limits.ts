import type { ServerOptions } from "node:http";
import type { ServerOptions as Http2ServerOptions } from "node:http2";
import { defaultServerLimits, type ServerLimits } from "@weft/core/transport";

/** Largest request head accepted (request line and headers); larger gets 431. */
export const MAX_HEADER_BYTES = 60 * 1024;
/** Most header fields accepted in one request; more gets 431. */
export const MAX_HEADER_COUNT = 100;

/**
 * The limits of a sidecar listener and its HTTP front. Defaults follow Envoy's where it has
 * one (tcp_proxy idle 1 h, HTTP/2 limits as core's mesh server) and are tighter where Envoy
 * leaves a slowloris door open (request headers have 10 s to arrive, not forever).
 */
export interface SidecarLimits {
  /** Connections a listener keeps open at once; more are closed at accept and counted. */
  readonly maxConnections: number;
  /** An HTTP/1 request head must be complete this long after its first byte, else 408. */
  readonly headersTimeoutMs: number;
  /** A whole HTTP/1 request (head and body) must arrive in this long; 0: no limit (streams). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive HTTP/1 connection is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** An HTTP/2 (h2c) session with no traffic for this long gets GOAWAY. */
  readonly h2IdleTimeoutMs: number;
  /** Opaque TCP, TLS passthrough and upgraded (WebSocket) connections idle this long are cut. */
  readonly tcpIdleTimeoutMs: number;
  /** Socket buffer (both directions) before a slow peer pauses its other side, bytes. */
  readonly socketBufferBytes: number;
}

export const defaultSidecarLimits: SidecarLimits = {
  maxConnections: 4_096,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 0,
  keepAliveTimeoutMs: 60_000,
  h2IdleTimeoutMs: 5 * 60_000,
  tcpIdleTimeoutMs: 60 * 60_000,
  socketBufferBytes: 64 * 1024,
};

export function resolveSidecarLimits(overrides: Partial<SidecarLimits> | undefined): SidecarLimits {
  return overrides ? { ...defaultSidecarLimits, ...overrides } : defaultSidecarLimits;
}

/**
 * The strict HTTP/1.1 parser settings both listeners use: framing ambiguities (conflicting
 * Content-Length and Transfer-Encoding, obs-fold, bare LF, bad chunk sizes) are errors that
 * answer 400 before anything is forwarded, which is what closes the request-smuggling door
 * between the sidecar and the app.
 */
export const strictHttp1Options: ServerOptions = http1ServerOptions(defaultSidecarLimits);

/** strictHttp1Options with the timeouts and buffer size of `limits`. */
export function http1ServerOptions(limits: SidecarLimits): ServerOptions {
  return {
    insecureHTTPParser: false,
    requireHostHeader: true,
    maxHeaderSize: MAX_HEADER_BYTES,
    joinDuplicateHeaders: false,
    keepAlive: true,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks both timeouts on this interval (30 s by default, which would let a 10 s
    // headers timeout run to 40 s).
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    highWaterMark: limits.socketBufferBytes,
  };
}

/** The h2c front: core's mesh-server HTTP/2 limits, so both ports refuse the same abuse. */
export function http2FrontOptions(): Http2ServerOptions {
  const l = defaultServerLimits;
  return {
    // The local app multiplexes all its outbound calls over few sessions: more room than a peer.
    maxSessionMemory: 64,
    maxHeaderListPairs: MAX_HEADER_COUNT + 4,
    maxSessionInvalidFrames: l.maxSessionInvalidFrames,
    maxSessionRejectedStreams: l.maxSessionRejectedStreams,
    maxOutstandingPings: l.maxOutstandingPings,
    maxSettings: l.maxSettings,
    settings: {
      maxConcurrentStreams: l.maxConcurrentStreams,
      maxHeaderListSize: l.maxHeaderListSize,
      maxFrameSize: l.maxFrameSize,
      enablePush: false,
    },
  };
}

/** Core's process-wide admission control (global connection cap, overload shedding). */
export type Admission = ServerLimits["admission"];
