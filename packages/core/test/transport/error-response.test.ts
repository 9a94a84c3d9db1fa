import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { errorResponse } from "../../src/transport/error-response.ts";

const error = new MeshError(Code.PermissionDenied, 'caller "web" may not call this', {
  place: "sidecar-inbound",
  plugin: "authorization",
  policy: "shop/only-orders",
});
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe("errorResponse answers in the caller's protocol", () => {
  it("gRPC and gRPC-Web: a trailers-only status", () => {
    for (const ct of ["application/grpc+proto", "application/grpc-web+proto"]) {
      const r = errorResponse(ct, error);
      expect(r.status).toBe(200);
      expect(r.headers["grpc-status"]).toBe(String(Code.PermissionDenied));
      expect(decodeURIComponent(r.headers["grpc-message"] ?? "")).toBe(error.reason);
      expect(r.headers["weft-error"]).toContain("plugin=authorization");
      expect(r.body).toBeUndefined();
    }
  });

  it("Connect unary: the HTTP status and a JSON error", () => {
    const r = errorResponse("application/proto", error);
    expect(r.status).toBe(403);
    expect(JSON.parse(text(r.body))).toEqual({ code: "permission_denied", message: error.reason });
  });

  it("Connect streaming: an end-stream message holding the error", () => {
    const r = errorResponse("application/connect+proto", error);
    expect(r.status).toBe(200);
    expect(r.body?.[0]).toBe(0x02);
    expect(JSON.parse(text(r.body?.subarray(5)))).toEqual({
      error: { code: "permission_denied", message: error.reason },
    });
  });

  it("plain HTTP: the status and the reason as text", () => {
    const r = errorResponse(undefined, error);
    expect(r.status).toBe(403);
    expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(text(r.body)).toBe(`${error.reason}\n`);
  });
});
