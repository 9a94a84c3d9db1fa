import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/**
 * What to do with a header name holding "_" (Envoy's headers_with_underscores_action): some
 * servers read `X_Auth` and `X-Auth` as one header (CGI maps "-" to "_"), so a caller could
 * slip past a check on one spelling with the other.
 */
export type UnderscoreAction = "allow" | "reject" | "drop";

/** A request the front answers itself: the status, what the caller is told, the counter reason. */
export interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly counter: string;
}

/**
 * The checks Node's strict parser leaves to us, after the head has parsed: one Host only
 * (RFC 9112 §3.2), Transfer-Encoding plain chunked only (400 without chunked last, 501 for other
 * codings before it, as Envoy), and the
 * underscore rule. With "drop", offending headers are removed from `req.headers`, which is
 * what is forwarded.
 */
export function checkRequest(
  req: IncomingMessage | Http2ServerRequest,
  underscores: UnderscoreAction,
): Refusal | undefined {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === "host") hosts++;
    if (underscores !== "allow" && name.includes("_")) {
      if (underscores === "reject")
        return {
          status: 400,
          reason: `header name ${name} holds an underscore`,
          counter: "header_underscore",
        };
      delete req.headers[name];
    }
  }
  if (req.httpVersionMajor >= 2) return undefined;
  if (hosts > 1) return { status: 400, reason: "more than one Host header", counter: "duplicate_host" };
  const te = req.headers["transfer-encoding"];
  if (te === undefined) return undefined;
  const codings = te
    .toLowerCase()
    .split(",")
    .map((c) => c.trim());
  // RFC 9112 §6.3: without chunked last, the body's length cannot be known.
  if (codings.at(-1) !== "chunked")
    return {
      status: 400,
      reason: `Transfer-Encoding ${JSON.stringify(te)} does not end in chunked`,
      counter: "transfer_encoding",
    };
  if (codings.length > 1)
    return {
      status: 501,
      reason: `Transfer-Encoding ${JSON.stringify(te)}: only chunked is accepted, no coding before it`,
      counter: "transfer_encoding",
    };
  return undefined;
}
