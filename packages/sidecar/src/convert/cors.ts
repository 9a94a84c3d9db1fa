import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { cors as connectCors } from "@connectrpc/connect";
import type { CorsOptions } from "./conversion-options.ts";

const METHODS = "GET, POST, PUT, PATCH, DELETE";

/**
 * CORS for the converted protocols: a browser page on another origin may call gRPC-Web,
 * Connect and REST methods once its origin is allowed. The header lists are computed once.
 */
export class Cors {
  readonly #any: boolean;
  readonly #origins: ReadonlySet<string>;
  readonly #credentials: boolean;
  readonly #allowHeaders: string;
  readonly #expose: string;
  readonly #maxAge: string;

  constructor(options: CorsOptions) {
    this.#any = options.allowedOrigins.includes("*");
    this.#origins = new Set(options.allowedOrigins);
    this.#credentials = options.allowCredentials ?? false;
    this.#allowHeaders = unique([
      ...connectCors.allowedHeaders,
      "accept",
      "authorization",
      ...(options.allowedHeaders ?? []),
    ]);
    this.#expose = unique([
      ...connectCors.exposedHeaders,
      "grpc-status-details-bin",
      ...(options.exposedHeaders ?? []),
    ]);
    this.#maxAge = String(options.maxAgeSeconds ?? 7200);
  }

  allows(origin: string): boolean {
    return this.#any || this.#origins.has(origin);
  }

  /** True for a preflight request (OPTIONS with Origin and Access-Control-Request-Method). */
  static isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
    return (
      method === "OPTIONS" &&
      headers.origin !== undefined &&
      headers["access-control-request-method"] !== undefined
    );
  }

  /** The preflight answer: 204 with the allowances, or 403 naming the origin refused. */
  preflight(origin: string): { status: number; headers: OutgoingHttpHeaders; body?: string } {
    if (!this.allows(origin)) {
      return {
        status: 403,
        headers: { "content-type": "text/plain; charset=utf-8", vary: "origin" },
        body: `origin ${origin} may not call this service (not in the conversion's cors.allowedOrigins)\n`,
      };
    }
    return {
      status: 204,
      headers: {
        ...this.#originHeaders(origin),
        "access-control-allow-methods": METHODS,
        "access-control-allow-headers": this.#allowHeaders,
        "access-control-max-age": this.#maxAge,
      },
    };
  }

  /** Headers to add to an actual response for a request from `origin` (none when not allowed). */
  response(origin: string | undefined): OutgoingHttpHeaders | undefined {
    if (origin === undefined || !this.allows(origin)) return undefined;
    return { ...this.#originHeaders(origin), "access-control-expose-headers": this.#expose };
  }

  #originHeaders(origin: string): OutgoingHttpHeaders {
    const exact = !this.#any || this.#credentials;
    const h: OutgoingHttpHeaders = { "access-control-allow-origin": exact ? origin : "*" };
    if (exact) h.vary = "origin";
    if (this.#credentials) h["access-control-allow-credentials"] = "true";
    return h;
  }
}

function unique(names: readonly string[]): string {
  return [...new Set(names.map((n) => n.toLowerCase()))].join(", ");
}
