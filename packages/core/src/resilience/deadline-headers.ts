import { MeshHeaders } from "../call/mesh-headers.ts";

/**
 * The two ways a deadline travels on the wire: gRPC's `grpc-timeout` and the Connect
 * protocol's `connect-timeout-ms`. Both carry time remaining, never an absolute time.
 */

export const GRPC_TIMEOUT_HEADER = "grpc-timeout";
export const CONNECT_TIMEOUT_HEADER = "connect-timeout-ms";

/** gRPC allows at most 8 digits of TimeoutValue. */
const GRPC_MAX_VALUE = 99_999_999;
/** The Connect protocol allows at most 10 digits. */
const CONNECT_MAX_VALUE = 9_999_999_999;

/** TimeoutUnit letters, finest first, with the factor that turns milliseconds into the unit. */
const UNITS: readonly (readonly [unit: string, perMs: number])[] = [
  ["n", 1e6],
  ["u", 1e3],
  ["m", 1],
  ["S", 1e-3],
  ["M", 1 / 60_000],
  ["H", 1 / 3_600_000],
];

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/**
 * Encodes time remaining as a `grpc-timeout` value: the finest unit whose value fits in 8
 * digits, rounded up so the callee never sees more time than the caller has. A deadline
 * already passed is "0n", as grpc-go sends it.
 */
export function encodeGrpcTimeout(ms: number): string {
  if (!(ms > 0)) return "0n";
  for (const [unit, perMs] of UNITS) {
    const value = wholeUp(ms * perMs);
    if (value <= GRPC_MAX_VALUE) return `${value}${unit}`;
  }
  return `${GRPC_MAX_VALUE}H`;
}

/** Milliseconds of a `grpc-timeout` value, or undefined when it is not one the spec allows. */
export function decodeGrpcTimeout(value: string): number | undefined {
  const m = GRPC_TIMEOUT.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case "n":
      return n / 1e6;
    case "u":
      return n / 1e3;
    case "m":
      return n;
    case "S":
      return n * 1e3;
    case "M":
      return n * 60_000;
    default:
      return n * 3_600_000;
  }
}

/** Encodes time remaining as a `connect-timeout-ms` value (whole ms, rounded up, 10 digits). */
export function encodeConnectTimeout(ms: number): string {
  if (!(ms > 0)) return "0";
  return String(Math.min(wholeUp(ms), CONNECT_MAX_VALUE));
}

/** Milliseconds of a `connect-timeout-ms` value, or undefined when it is malformed. */
export function decodeConnectTimeout(value: string): number | undefined {
  if (value.length === 0 || value.length > 10) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(value);
}

/**
 * The absolute deadline (on the clock whose time is `now`) that the request headers ask
 * for: the shorter of the two headers when both are present; undefined when neither is
 * present or valid.
 */
export function deadlineFromHeaders(headers: Headers, now: number): number | undefined {
  const own = headers instanceof MeshHeaders;
  const grpc = own ? headers.getOwn(GRPC_TIMEOUT_HEADER) : headers.get(GRPC_TIMEOUT_HEADER);
  const connect = own ? headers.getOwn(CONNECT_TIMEOUT_HEADER) : headers.get(CONNECT_TIMEOUT_HEADER);
  if (grpc === null && connect === null) return undefined;
  const a = grpc === null ? undefined : decodeGrpcTimeout(grpc);
  const b = connect === null ? undefined : decodeConnectTimeout(connect);
  if (a === undefined) return b === undefined ? undefined : now + b;
  return now + (b === undefined || a < b ? a : b);
}

/**
 * The last time remaining written, encoded: a route's timeout is written with the same
 * remaining time by every call that enters it (the attempt starts when the call does), so
 * most calls reuse the strings instead of encoding them again.
 */
let lastMs = Number.NaN;
let lastGrpc = "";
let lastConnect = "";

/** Writes the time remaining into both headers, so the next hop stops when the caller does. */
export function writeDeadlineHeaders(headers: Headers, remainingMs: number): void {
  if (remainingMs !== lastMs) {
    lastGrpc = encodeGrpcTimeout(remainingMs);
    lastConnect = encodeConnectTimeout(remainingMs);
    lastMs = remainingMs;
  }
  const grpc = lastGrpc;
  const connect = lastConnect;
  if (headers instanceof MeshHeaders) {
    headers.setOwn(GRPC_TIMEOUT_HEADER, grpc);
    headers.setOwn(CONNECT_TIMEOUT_HEADER, connect);
    return;
  }
  headers.set(GRPC_TIMEOUT_HEADER, grpc);
  headers.set(CONNECT_TIMEOUT_HEADER, connect);
}

/**
 * Rounds up to a whole number, except that a product within a millionth of an integer
 * (0.1 * 1e6) is that integer: floating-point noise must not add a unit.
 */
function wholeUp(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-6 ? r : Math.ceil(x);
}
