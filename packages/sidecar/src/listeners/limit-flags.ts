import { defaultServerLimits } from "@weft/core/transport";
import { millis, UsageError } from "../cli/args.ts";
import { defaultSidecarLimits, type SidecarLimits } from "../http/limits.ts";

/**
 * `weft-sidecar run` flags for connection caps, timeouts and overload shedding, for parseArgs.
 * Defaults are in http/limits.ts (listeners) and core's limits/ (global cap, heap thresholds).
 */
export const limitFlags = {
  "max-connections": { type: "string" },
  "max-connections-global": { type: "string" },
  "headers-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  "keepalive-timeout": { type: "string" },
  "h2-idle-timeout": { type: "string" },
  "tcp-idle-timeout": { type: "string" },
  "overload-heap": { type: "string" },
} as const;

export interface LimitSettings {
  /** For the outbound and per-service listeners and their HTTP fronts. */
  readonly listeners: SidecarLimits;
  /** For the mesh inbound port (core's ServerLimits overrides). */
  readonly inbound: {
    readonly maxConnections: number;
    readonly sessionIdleTimeoutMs: number;
    readonly tunnelIdleTimeoutMs: number;
  };
  /** For one Admission shared by every listener; `shedAt` feeds an OverloadMonitor. */
  readonly admission: { readonly maxConnections: number; readonly shedAt: number };
}

type Values = { readonly [K in keyof typeof limitFlags]?: string | undefined };

/** Reads the flags; each mistake is a UsageError naming the flag and what it expected. */
export function limitsFromFlags(values: Values): LimitSettings {
  const d = defaultSidecarLimits;
  const count = (flag: keyof Values, fallback: number): number => {
    const text = values[flag];
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text) || Number(text) < 1)
      throw new UsageError(`--${flag}: "${text}" is not a positive whole number`);
    return Number(text);
  };
  const duration = (flag: keyof Values, fallback: number): number =>
    values[flag] === undefined ? fallback : millis(values[flag] as string, `--${flag}`);
  const listeners: SidecarLimits = {
    ...d,
    maxConnections: count("max-connections", d.maxConnections),
    headersTimeoutMs: duration("headers-timeout", d.headersTimeoutMs),
    requestTimeoutMs: duration("request-timeout", d.requestTimeoutMs),
    keepAliveTimeoutMs: duration("keepalive-timeout", d.keepAliveTimeoutMs),
    h2IdleTimeoutMs: duration("h2-idle-timeout", d.h2IdleTimeoutMs),
    tcpIdleTimeoutMs: duration("tcp-idle-timeout", d.tcpIdleTimeoutMs),
  };
  if (listeners.headersTimeoutMs <= 0) throw new UsageError("--headers-timeout: must be more than 0");
  if (listeners.requestTimeoutMs > 0 && listeners.requestTimeoutMs < listeners.headersTimeoutMs)
    throw new UsageError("--request-timeout: must be 0 (none) or at least --headers-timeout");
  const heap = values["overload-heap"];
  const shedAt = heap === undefined ? 0.9 : Number(heap);
  if (!(shedAt > 0.1 && shedAt <= 1))
    throw new UsageError(`--overload-heap: "${heap}" is not a fraction of the heap limit (0.1-1, like 0.9)`);
  return {
    listeners,
    inbound: {
      maxConnections: listeners.maxConnections,
      sessionIdleTimeoutMs: listeners.h2IdleTimeoutMs,
      tunnelIdleTimeoutMs: listeners.tcpIdleTimeoutMs,
    },
    admission: {
      maxConnections: count("max-connections-global", defaultServerLimits.admission.maxConnections),
      shedAt,
    },
  };
}
