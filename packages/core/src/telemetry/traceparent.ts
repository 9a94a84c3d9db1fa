/**
 * W3C Trace Context `traceparent`, parsed and formatted by hand for the places that must
 * propagate traces without OpenTelemetry (https://www.w3.org/TR/trace-context/).
 * Format: `version-traceid-parentid-flags`, e.g.
 * `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
 */

export const TRACEPARENT = "traceparent";
export const TRACESTATE = "tracestate";

/** The `sampled` bit of trace-flags. */
export const FLAG_SAMPLED = 0x01;

export interface TraceParent {
  /** 0 for the current version; higher ones are accepted as the spec requires of parsers. */
  readonly version: number;
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the span of the caller. */
  readonly spanId: string;
  /** 8 bits; bit 0 is `sampled`. */
  readonly flags: number;
}

const V00_LENGTH = 55;

/**
 * Parses a traceparent value; undefined when it is not valid (the caller then starts a
 * new trace, as the spec requires). Version 00 must be exactly 55 characters; a later
 * version may carry more fields after a dash, which are ignored; version ff is invalid.
 */
export function parseTraceparent(value: string | null | undefined): TraceParent | undefined {
  if (!value || value.length < V00_LENGTH) return undefined;
  if (!isHex(value, 0, 2) || value.charCodeAt(2) !== DASH) return undefined;
  const version = Number.parseInt(value.slice(0, 2), 16);
  if (version === 0xff) return undefined;
  if (
    version === 0
      ? value.length !== V00_LENGTH
      : value.length > V00_LENGTH && value.charCodeAt(V00_LENGTH) !== DASH
  ) {
    return undefined;
  }
  if (!isHex(value, 3, 35) || value.charCodeAt(35) !== DASH) return undefined;
  if (!isHex(value, 36, 52) || value.charCodeAt(52) !== DASH) return undefined;
  if (!isHex(value, 53, 55)) return undefined;
  if (isZero(value, 3, 35) || isZero(value, 36, 52)) return undefined;
  return {
    version,
    traceId: value.slice(3, 35),
    spanId: value.slice(36, 52),
    flags: Number.parseInt(value.slice(53, 55), 16),
  };
}

/** Formats a version-00 traceparent; throws a TypeError naming the field that is not valid. */
export function formatTraceparent(tp: { traceId: string; spanId: string; flags: number }): string {
  if (!isValidTraceId(tp.traceId)) {
    throw new TypeError(
      `traceparent: trace id must be 32 lowercase hex digits, not all zero, got "${tp.traceId}"`,
    );
  }
  if (!isValidSpanId(tp.spanId)) {
    throw new TypeError(
      `traceparent: span id must be 16 lowercase hex digits, not all zero, got "${tp.spanId}"`,
    );
  }
  if (!Number.isInteger(tp.flags) || tp.flags < 0 || tp.flags > 0xff) {
    throw new TypeError(`traceparent: flags must be an integer from 0 to 255, got ${tp.flags}`);
  }
  return `00-${tp.traceId}-${tp.spanId}-${tp.flags < 16 ? "0" : ""}${tp.flags.toString(16)}`;
}

export function isValidTraceId(id: string): boolean {
  return id.length === 32 && isHex(id, 0, 32) && !isZero(id, 0, 32);
}

export function isValidSpanId(id: string): boolean {
  return id.length === 16 && isHex(id, 0, 16) && !isZero(id, 0, 16);
}

/** A random trace id (Web Crypto, available in Node, Deno, Bun and browsers). */
export function randomTraceId(): string {
  return randomHex(16);
}

export function randomSpanId(): string {
  return randomHex(8);
}

/** The traceparent of a new span in the same trace as `parent`, sent to the next hop. */
export function childTraceparent(parent: TraceParent, spanId: string = randomSpanId()): string {
  return formatTraceparent({ traceId: parent.traceId, spanId, flags: parent.flags });
}

const DASH = 0x2d;

/** Lowercase hex only: the spec's grammar has no uppercase digits. */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  for (;;) {
    crypto.getRandomValues(buf);
    let hex = "";
    let any = 0;
    for (const b of buf) {
      any |= b;
      hex += b < 16 ? `0${b.toString(16)}` : b.toString(16);
    }
    if (any !== 0) return hex;
  }
}
