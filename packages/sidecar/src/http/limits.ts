import type { ServerOptions } from "node:http";

/** Largest request head accepted (request line and headers); larger gets 431. */
export const MAX_HEADER_BYTES = 60 * 1024;
/** Most header fields accepted in one request; more gets 431. */
export const MAX_HEADER_COUNT = 100;

/**
 * The strict HTTP/1.1 parser settings both listeners use: framing ambiguities (conflicting
 * Content-Length and Transfer-Encoding, obs-fold, bare LF, bad chunk sizes) are errors that
 * answer 400 before anything is forwarded, which is what closes the request-smuggling door
 * between the sidecar and the app.
 */
export const strictHttp1Options: ServerOptions = {
  insecureHTTPParser: false,
  requireHostHeader: true,
  maxHeaderSize: MAX_HEADER_BYTES,
  joinDuplicateHeaders: false,
  keepAlive: true,
  keepAliveTimeout: 60_000,
  headersTimeout: 30_000,
  requestTimeout: 0,
};
