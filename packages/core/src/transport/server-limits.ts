/**
 * HTTP/2 limits every mesh server sets explicitly rather than inheriting Node's defaults
 * (unbounded concurrent streams, no idle timeout), so one peer cannot exhaust a member.
 */
export interface ServerLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised to each client. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE, bytes. */
  readonly maxHeaderListSize: number;
  /** Per-session memory cap (Node's maxSessionMemory), megabytes. */
  readonly maxSessionMemoryMb: number;
  /** A session with no open stream and no traffic for this long is closed (GOAWAY). */
  readonly sessionIdleTimeoutMs: number;
  /** A TLS handshake that takes longer is abandoned. */
  readonly handshakeTimeoutMs: number;
}

export const defaultServerLimits: ServerLimits = {
  maxConcurrentStreams: 100,
  maxHeaderListSize: 64 * 1024,
  maxSessionMemoryMb: 32,
  sessionIdleTimeoutMs: 5 * 60_000,
  handshakeTimeoutMs: 10_000,
};

export function resolveLimits(overrides: Partial<ServerLimits> | undefined): ServerLimits {
  return overrides ? { ...defaultServerLimits, ...overrides } : defaultServerLimits;
}

/** Node http2 server options carrying the limits. */
export function http2ServerOptions(limits: ServerLimits) {
  return {
    maxSessionMemory: limits.maxSessionMemoryMb,
    maxHeaderListPairs: 256,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListSize,
      enablePush: false,
    },
  };
}
