import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

// Connection-specific headers (RFC 9110 §7.6.1) that a proxy must not forward, plus the ones
// HTTP/2 forbids (RFC 9113 §8.2.2). `te` is handled apart: "trailers" is allowed in HTTP/2.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "transfer-encoding",
  "upgrade",
  "host",
  "http2-settings",
]);

/**
 * Headers to send on, from headers received: hop-by-hop and pseudo-headers removed, plus any
 * header the `Connection` header named. `te` survives only as "trailers" (gRPC needs it).
 */
export function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = headers.connection;
  const extra = typeof named === "string" ? named.toLowerCase().split(/\s*,\s*/) : [];
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */ || HOP_BY_HOP.has(name)) continue;
    if (extra.length > 0 && extra.includes(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (name === "te") {
      if (String(value).toLowerCase().includes("trailers")) out.te = "trailers";
      continue;
    }
    out[name] = value;
  }
  return out;
}

/** Trailers to send on: the same rules as headers, and never framing fields. */
export function forwardableTrailers(
  trailers: NodeJS.Dict<string | string[]>,
): OutgoingHttpHeaders | undefined {
  let out: OutgoingHttpHeaders | undefined;
  for (const name in trailers) {
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name) || name === "content-length") continue;
    const value = trailers[name];
    if (value === undefined) continue;
    out ??= {};
    out[name] = value;
  }
  return out;
}
