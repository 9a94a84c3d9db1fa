import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { createTranscoder } from "@weft/core";
import { beforeAll, describe, expect, it } from "vitest";
import { Cors } from "../../src/convert/cors.ts";
import { type Enabled, planOf } from "../../src/convert/plan.ts";
import { buildDescriptorSet } from "./orders-backend.ts";

const ALL: Enabled = { rest: true, grpcWeb: true, connect: true };

describe("which protocol a request speaks (planOf)", () => {
  let service: DescService;
  let methods: Map<string, DescMethod>;
  let plan: (
    method: string,
    path: string,
    contentType?: string,
    enabled?: Enabled,
  ) => ReturnType<typeof planOf>;

  beforeAll(async () => {
    const { registry } = await buildDescriptorSet();
    service = registry.getService("convert.v1.OrderService") as DescService;
    methods = new Map(service.methods.map((m) => [`/${service.typeName}/${m.name}`, m]));
    const transcoder = createTranscoder([service]);
    plan = (method, path, contentType, enabled = ALL) =>
      planOf(method, path, contentType ? { "content-type": contentType } : {}, methods, transcoder, enabled);
  });

  const rpc = "/convert.v1.OrderService/GetOrder";

  it("tells the RPC protocols apart by content type, codec and text mode", () => {
    expect(plan("POST", rpc, "application/grpc")).toMatchObject({ protocol: "grpc", json: false });
    expect(plan("POST", rpc, "application/grpc-web+proto")).toMatchObject({
      protocol: "grpc-web",
      json: false,
      text: false,
    });
    expect(plan("POST", rpc, "application/grpc-web-text")).toMatchObject({
      protocol: "grpc-web",
      text: true,
    });
    expect(plan("POST", rpc, "application/grpc-web+json")).toMatchObject({
      protocol: "grpc-web",
      json: true,
    });
    expect(plan("POST", rpc, "application/json")).toMatchObject({ protocol: "connect-unary", json: true });
    expect(plan("POST", rpc, "application/proto")).toMatchObject({ protocol: "connect-unary", json: false });
    expect(plan("POST", rpc, "application/connect+json; charset=utf-8")).toMatchObject({
      protocol: "connect-stream",
      json: true,
    });
    expect(plan("POST", rpc, "application/json")?.method?.name).toBe("GetOrder");
  });

  it("Connect GET needs connect=v1 and a described method; REST needs a binding", () => {
    expect(plan("GET", `${rpc}?connect=v1&encoding=json&message=%7B%7D`)).toMatchObject({
      protocol: "connect-unary",
      get: true,
      json: true,
    });
    expect(plan("GET", `${rpc}?encoding=json`)).toBeUndefined();
    expect(plan("GET", "/v1/orders/o-1")).toMatchObject({ protocol: "rest", rpcPath: rpc });
    expect(plan("PATCH", "/v1/orders/o-1", "application/json")).toMatchObject({
      protocol: "rest",
      rpcPath: "/convert.v1.OrderService/UpdateOrder",
    });
    expect(plan("GET", "/v1/unbound")).toBeUndefined();
    // Shaped like an RPC path, but a binding claims it: REST, not Connect.
    expect(plan("POST", "/v1/orders", "application/json")).toMatchObject({
      protocol: "rest",
      rpcPath: "/convert.v1.OrderService/CreateOrder",
    });
  });

  it("an undescribed method is still gRPC-Web or Connect with the proto codec (no descriptor needed)", () => {
    const p = plan("POST", "/other.v1.Thing/Do", "application/grpc-web+proto");
    expect(p).toMatchObject({ protocol: "grpc-web", rpcPath: "/other.v1.Thing/Do", method: undefined });
  });

  it("a protocol switched off is left alone", () => {
    const none: Enabled = { rest: false, grpcWeb: false, connect: false };
    expect(plan("POST", rpc, "application/grpc-web", none)).toBeUndefined();
    expect(plan("POST", rpc, "application/json", none)).toBeUndefined();
    expect(plan("GET", "/v1/orders/o-1", undefined, none)).toBeUndefined();
    // gRPC is never converted; the caller decides whether to serve it.
    expect(plan("POST", rpc, "application/grpc", none)).toMatchObject({ protocol: "grpc" });
  });
});

describe("CORS for the converted protocols", () => {
  it("answers a preflight from an allowed origin with the allowances, and refuses another with 403", () => {
    const cors = new Cors({
      allowedOrigins: ["http://a.test"],
      allowedHeaders: ["X-Caller"],
      maxAgeSeconds: 60,
    });
    expect(
      Cors.isPreflight("OPTIONS", { origin: "http://a.test", "access-control-request-method": "POST" }),
    ).toBe(true);
    expect(Cors.isPreflight("OPTIONS", { origin: "http://a.test" })).toBe(false);
    const ok = cors.preflight("http://a.test");
    expect(ok.status).toBe(204);
    expect(ok.headers).toMatchObject({
      "access-control-allow-origin": "http://a.test",
      vary: "origin",
      "access-control-max-age": "60",
    });
    expect(String(ok.headers["access-control-allow-headers"]).split(", ")).toEqual(
      expect.arrayContaining(["content-type", "connect-protocol-version", "x-grpc-web", "x-caller"]),
    );
    expect(cors.preflight("http://b.test").status).toBe(403);
    expect(cors.response("http://b.test")).toBeUndefined();
    expect(cors.response(undefined)).toBeUndefined();
    expect(String(cors.response("http://a.test")?.["access-control-expose-headers"])).toContain(
      "grpc-message",
    );
  });

  it('"*" answers any origin with *, unless credentials are allowed (then the origin itself)', () => {
    expect(new Cors({ allowedOrigins: ["*"] }).response("http://x.test")).toMatchObject({
      "access-control-allow-origin": "*",
    });
    expect(
      new Cors({ allowedOrigins: ["*"], allowCredentials: true }).response("http://x.test"),
    ).toMatchObject({
      "access-control-allow-origin": "http://x.test",
      "access-control-allow-credentials": "true",
    });
  });
});
