import { Code } from "@connectrpc/connect";
import { decodeStatusDetails, encodeStatusDetails } from "./status-details.ts";
import type { WireError } from "./wire-error.ts";

export const GRPC_STATUS = "grpc-status";
export const GRPC_MESSAGE = "grpc-message";
export const GRPC_STATUS_DETAILS = "grpc-status-details-bin";

/**
 * The error in gRPC trailers (or the headers of a trailers-only response); undefined for
 * status 0. `grpc-status-details-bin` is preferred, as gRPC specifies, when it decodes.
 * Trailers without a status are an error: a gRPC call must end with one.
 */
export function errorFromTrailers(trailers: Headers): WireError | undefined {
  const status = trailers.get(GRPC_STATUS);
  const details = trailers.get(GRPC_STATUS_DETAILS);
  if (details) {
    try {
      const decoded = decodeStatusDetails(details);
      if (status === null || Number(status) === decoded.code)
        return (decoded.code as number) === 0 ? undefined : decoded;
    } catch {
      // Fall back to grpc-status and grpc-message below.
    }
  }
  if (status === null)
    return { code: Code.Internal, message: "gRPC response ended without grpc-status", details: [] };
  if (status === "0") return undefined;
  const code = /^\d+$/.test(status) && Number(status) <= 16 ? (Number(status) as Code) : Code.Unknown;
  return { code, message: decodeGrpcMessage(trailers.get(GRPC_MESSAGE) ?? ""), details: [] };
}

/** Sets grpc-status, grpc-message and (with details) grpc-status-details-bin. */
export function setTrailerStatus(trailers: Headers, error: WireError | undefined): Headers {
  if (!error) {
    trailers.set(GRPC_STATUS, "0");
    return trailers;
  }
  trailers.set(GRPC_STATUS, String(error.code));
  if (error.message) trailers.set(GRPC_MESSAGE, encodeGrpcMessage(error.message));
  if (error.details.length > 0) trailers.set(GRPC_STATUS_DETAILS, encodeStatusDetails(error));
  return trailers;
}

/** gRPC's percent-encoding of grpc-message: UTF-8, every byte outside 0x20-0x7E and '%' escaped. */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Decodes grpc-message; a malformed escape leaves the text as sent, as gRPC implementations do. */
export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const GRPC_TIMEOUT_UNITS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** `grpc-timeout` (up to 8 digits and a unit) in milliseconds, or undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * (GRPC_TIMEOUT_UNITS[m[2] as string] as number);
}

/** Milliseconds as `grpc-timeout`, rounded up so a deadline is never shortened to zero. */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 100_000_000) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds < 100_000_000) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}
