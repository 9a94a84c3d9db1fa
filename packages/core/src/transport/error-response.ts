import { codeName } from "../errors/codes.ts";
import { ERROR_HEADER, type MeshError } from "../errors/mesh-error.ts";

/** A response to write for a call the mesh failed: status, headers, body, trailers. */
export interface ErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | undefined;
}

const encoder = new TextEncoder();

/**
 * The response that tells a caller, in its own protocol, that the mesh failed its call: a
 * trailers-only gRPC (or gRPC-Web) status, a Connect error (JSON, or an end-stream frame on
 * streams), or an HTTP status with the reason as text. Every form carries the `weft-error` header
 * with the code, reason and provenance.
 */
export function errorResponse(contentType: string | null | undefined, error: MeshError): ErrorResponse {
  const ct = contentType ?? "";
  const weft = error.toHeader();
  if (ct.startsWith("application/grpc")) {
    // gRPC and gRPC-Web: HTTP 200 and the status in headers (a trailers-only response).
    return {
      status: 200,
      headers: {
        "content-type": ct.split(";")[0] ?? ct,
        "grpc-status": String(error.code),
        "grpc-message": encodeURIComponent(error.reason),
        [ERROR_HEADER]: weft,
      },
      body: undefined,
    };
  }
  const json = JSON.stringify({ code: codeName(error.code), message: error.reason });
  if (ct.startsWith("application/connect+")) {
    // Connect streaming: HTTP 200 and an end-stream message (flag 0x02) holding the error.
    const payload = encoder.encode(
      JSON.stringify({ error: { code: codeName(error.code), message: error.reason } }),
    );
    const frame = new Uint8Array(5 + payload.length);
    frame[0] = 0x02;
    new DataView(frame.buffer).setUint32(1, payload.length);
    frame.set(payload, 5);
    return { status: 200, headers: { "content-type": ct, [ERROR_HEADER]: weft }, body: frame };
  }
  if (ct.startsWith("application/proto") || ct.startsWith("application/json")) {
    // Connect unary (and JSON callers): the HTTP status and a Connect error body.
    return {
      status: error.httpStatus,
      headers: { "content-type": "application/json", [ERROR_HEADER]: weft },
      body: encoder.encode(json),
    };
  }
  // Anything else is plain HTTP: the status and the reason, for a person or a log to read.
  return {
    status: error.httpStatus,
    headers: { "content-type": "text/plain; charset=utf-8", [ERROR_HEADER]: weft },
    body: encoder.encode(`${error.reason}\n`),
  };
}
