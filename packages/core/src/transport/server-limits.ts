import type { Place } from "../call/call.ts";
import { type Admission, processAdmission } from "./limits/admission.ts";

/**
 * HTTP/2 limits every mesh server sets explicitly rather than inheriting Node's defaults
 * (unbounded concurrent streams, no idle timeout), so one peer cannot exhaust a member.
 */
export interface ServerLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised to each client. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE, bytes. */
  readonly maxHeaderListSize: number;
  /** SETTINGS_MAX_FRAME_SIZE, bytes (16,384 to 16,777,215). */
  readonly maxFrameSize: number;
  /** Per-session memory cap (Node's maxSessionMemory), megabytes. */
  readonly maxSessionMemoryMb: number;
  /** Invalid or empty (no payload, no END_STREAM) frames a session may send before it is closed. */
  readonly maxSessionInvalidFrames: number;
  /** Streams a session may open past SETTINGS_MAX_CONCURRENT_STREAMS before it is closed. */
  readonly maxSessionRejectedStreams: number;
  /** PINGs the server itself may have unacknowledged. */
  readonly maxOutstandingPings: number;
  /** Entries accepted in one SETTINGS frame. */
  readonly maxSettings: number;
  /**
   * Streams a session may reset before the server answered them, per second, before the
   * session gets GOAWAY(ENHANCE_YOUR_CALM) and is destroyed (rapid reset, CVE-2023-44487).
   */
  readonly maxStreamResetsPerSecond: number;
  /** A session with no open stream and no traffic for this long is closed (GOAWAY). */
  readonly sessionIdleTimeoutMs: number;
  /** A TLS handshake that takes longer is abandoned. */
  readonly handshakeTimeoutMs: number;
  /** Connections this server keeps open at once; more are closed at accept and counted. */
  readonly maxConnections: number;
  /** An accepted CONNECT tunnel (TCP or UDP) with no bytes either way for this long is cancelled. */
  readonly tunnelIdleTimeoutMs: number;
  /**
   * Global connection cap and heap-overload shedding, shared with the process's other servers;
   * defaults to processAdmission() (see limits/admission.ts).
   */
  readonly admission: Admission;
  /** Where this server sits, for the provenance of what it refuses; defaults to "server". */
  readonly place?: Place;
}

export const defaultServerLimits: ServerLimits = {
  maxConcurrentStreams: 100,
  maxHeaderListSize: 64 * 1024,
  maxFrameSize: 16 * 1024,
  maxSessionMemoryMb: 32,
  maxSessionInvalidFrames: 100,
  maxSessionRejectedStreams: 100,
  maxOutstandingPings: 10,
  maxSettings: 32,
  maxStreamResetsPerSecond: 200,
  sessionIdleTimeoutMs: 5 * 60_000,
  handshakeTimeoutMs: 10_000,
  // A member is called by one pooled connection per peer: thousands of peers is a big mesh.
  maxConnections: 4_096,
  // Envoy's tcp_proxy idle_timeout default.
  tunnelIdleTimeoutMs: 60 * 60_000,
  admission: processAdmission(),
};

/**
 * nghttp2's own RST_STREAM token bucket (burst, then per second): a backstop well above
 * maxStreamResetsPerSecond, which ServerCore enforces with a named error code.
 */
const NGHTTP2_RESET_BURST = 1000;
const NGHTTP2_RESET_RATE = 33;

export function resolveLimits(overrides: Partial<ServerLimits> | undefined): ServerLimits {
  return overrides ? { ...defaultServerLimits, ...overrides } : defaultServerLimits;
}

/**
 * Node http2 server options carrying the limits. PING, SETTINGS and PRIORITY floods and
 * flow-control window overflow are refused by nghttp2 itself (outbound-ACK queue cap, glitch
 * rate limit, RFC 9113 window checks); test/transport/h2-abuse.test.ts proves each.
 */
export function http2ServerOptions(limits: ServerLimits) {
  return {
    maxSessionMemory: limits.maxSessionMemoryMb,
    maxHeaderListPairs: 256,
    maxSessionInvalidFrames: limits.maxSessionInvalidFrames,
    maxSessionRejectedStreams: limits.maxSessionRejectedStreams,
    maxOutstandingPings: limits.maxOutstandingPings,
    maxSettings: limits.maxSettings,
    streamResetBurst: NGHTTP2_RESET_BURST,
    streamResetRate: NGHTTP2_RESET_RATE,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListSize,
      maxFrameSize: limits.maxFrameSize,
      enablePush: false,
    },
  };
}
