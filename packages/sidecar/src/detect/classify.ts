/** What the first bytes of an outbound connection say it speaks. */
export type Detected = "http1" | "http2" | "tls" | "tcp";

/** A verdict, or "more" when the prefix seen so far could still be more than one thing. */
export type Verdict = Detected | "more";

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Methods an HTTP/1 client may open with (RFC 9110 plus WebDAV and PATCH). Listing them,
// rather than accepting any token, keeps a binary protocol whose first bytes happen to be
// capital letters from being parsed as HTTP.
const METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "REPORT",
  "SEARCH",
].map((m) => `${m} `);

/** Longest prefix that can still be undecided: the preface, or the longest method plus a space. */
export const MAX_SNIFF_BYTES = H2_PREFACE.length;

/**
 * Classifies a connection from the bytes it has sent so far. Pure and total: any prefix gets a
 * verdict, and a verdict other than "more" never changes as more bytes arrive (the tests check
 * both with split reads).
 */
export function classify(bytes: Uint8Array): Verdict {
  const n = bytes.length;
  if (n === 0) return "more";
  const first = bytes[0] as number;
  if (first === 0x16) {
    if (n === 1) return "more";
    // TLS record type handshake, legacy version major 3 (SSL 3.0 .. TLS 1.3 all say 3).
    return bytes[1] === 0x03 ? "tls" : "tcp";
  }
  let h2 = true;
  for (let i = 0; i < n && i < H2_PREFACE.length; i++) {
    if (bytes[i] !== H2_PREFACE.charCodeAt(i)) {
      h2 = false;
      break;
    }
  }
  if (h2 && n >= H2_PREFACE.length) return "http2";
  let http1Possible = false;
  for (const m of METHODS) {
    const k = Math.min(n, m.length);
    let same = true;
    for (let i = 0; i < k; i++) {
      if (bytes[i] !== m.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    // "PRI " is not a method we accept, so a complete method never collides with the preface.
    if (n >= m.length) return "http1";
    http1Possible = true;
  }
  if (h2 || http1Possible) return "more";
  return "tcp";
}
