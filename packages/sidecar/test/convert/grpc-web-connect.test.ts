import { type DescMethod, type DescService, type Message, toJson } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConvertedSidecar, startConvertedSidecar } from "./converted-sidecar.ts";

const ORIGIN = "http://page.test:8080";

type Unary = (input: unknown, options?: { headers?: Record<string, string> }) => Promise<Message>;
type Streaming = (input: unknown, options?: { headers?: Record<string, string> }) => AsyncIterable<Message>;

describe("gRPC-Web and Connect through the sidecar to a gRPC-only backend", () => {
  let s: ConvertedSidecar;
  let service: DescService;
  let direct: Client<DescService>;
  const method = (name: string) => service.methods.find((m) => m.name === name) as DescMethod;

  beforeAll(async () => {
    s = await startConvertedSidecar({ allowedOrigins: [ORIGIN], exposedHeaders: ["x-app-header"] });
    service = s.service;
    direct = createClient(service, createGrpcTransport({ baseUrl: `http://127.0.0.1:${s.backend.port}` }));
  });
  afterAll(() => s?.close());

  const convert = () => `http://127.0.0.1:${s.convertPort}`;
  const inbound = () => `http://127.0.0.1:${s.inboundPort}`;
  const transports: [string, () => Transport][] = [
    ["gRPC-Web binary, HTTP/1.1", () => createGrpcWebTransport({ baseUrl: convert(), httpVersion: "1.1" })],
    [
      "gRPC-Web JSON, HTTP/1.1",
      () => createGrpcWebTransport({ baseUrl: convert(), httpVersion: "1.1", useBinaryFormat: false }),
    ],
    ["Connect JSON, HTTP/1.1", () => createConnectTransport({ baseUrl: convert(), httpVersion: "1.1" })],
    [
      "Connect binary, h2c",
      () => createConnectTransport({ baseUrl: convert(), httpVersion: "2", useBinaryFormat: true }),
    ],
    [
      "Connect GET (no side effects)",
      () => createConnectTransport({ baseUrl: convert(), httpVersion: "1.1", useHttpGet: true }),
    ],
    [
      "gRPC on the conversion port (passed through the chain)",
      () => createGrpcTransport({ baseUrl: convert() }),
    ],
    [
      "Connect JSON on the mesh inbound port (h2c)",
      () => createConnectTransport({ baseUrl: inbound(), httpVersion: "2" }),
    ],
    [
      "gRPC-Web on the mesh inbound port (h2c)",
      () => createGrpcWebTransport({ baseUrl: inbound(), httpVersion: "2" }),
    ],
  ];

  const json = (name: string, m: Message) => toJson(method(name).output, m);
  const unary = (c: Client<DescService>, name: string) => c[method(name).localName] as unknown as Unary;
  const stream = (c: Client<DescService>, name: string) => c[method(name).localName] as unknown as Streaming;
  const collect = async (it: AsyncIterable<Message>) => {
    const out: unknown[] = [];
    let error: ConnectError | undefined;
    try {
      for await (const m of it) out.push(json("WatchOrder", m));
    } catch (e) {
      error = ConnectError.from(e);
    }
    return { out, error };
  };

  describe.each(transports)("%s", (_name, transport) => {
    let client: Client<DescService>;
    beforeAll(() => {
      client = createClient(service, transport());
    });

    it("unary: the answer equals the direct gRPC answer field by field, metadata reaching the backend", async () => {
      const input = { shop: "north", orderId: "o-3", includeItems: true };
      const headers = { "x-caller": "browser" };
      const got = await unary(client, "GetOrder")(input, { headers });
      const want = await unary(direct, "GetOrder")(input, { headers });
      expect(json("GetOrder", got)).toEqual(json("GetOrder", want));
      expect(json("GetOrder", got)).toMatchObject({ caller: "browser", totalCents: "9007199254740993" });
    });

    it("unary error: same code and message as the direct call", async () => {
      const input = { shop: "north", orderId: "missing" };
      const got = await unary(client, "GetOrder")(input).catch((e: unknown) => ConnectError.from(e));
      const want = await unary(direct, "GetOrder")(input).catch((e: unknown) => ConnectError.from(e));
      expect(got).toBeInstanceOf(ConnectError);
      expect((got as ConnectError).code).toBe(Code.NotFound);
      expect((got as ConnectError).rawMessage).toBe((want as ConnectError).rawMessage);
    });

    it("the inbound chain runs on the RPC: authorization denies a flagged DeleteOrder", async () => {
      const before = s.backend.calls.get("DeleteOrder") ?? 0;
      const err = await unary(client, "DeleteOrder")(
        { shop: "a", orderId: "b" },
        { headers: { "x-deny": "yes" } },
      ).catch((e: unknown) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.PermissionDenied);
      expect(s.backend.calls.get("DeleteOrder") ?? 0).toBe(before);
    });

    it("server streaming: every message in order, then the backend's error status with its message", async () => {
      const ok = await collect(stream(client, "WatchOrder")({ orderId: "w-1", events: 5 }));
      const okDirect = await collect(stream(direct, "WatchOrder")({ orderId: "w-1", events: 5 }));
      expect(ok.error).toBeUndefined();
      expect(ok.out).toHaveLength(5);
      expect(ok.out).toEqual(okDirect.out);
      const failed = await collect(stream(client, "WatchOrder")({ orderId: "w-2", events: 2, failWith: 9 }));
      const failedDirect = await collect(
        stream(direct, "WatchOrder")({ orderId: "w-2", events: 2, failWith: 9 }),
      );
      expect(failed.out).toEqual(failedDirect.out);
      expect(failed.error?.code).toBe(Code.FailedPrecondition);
      expect(failed.error?.rawMessage).toBe(failedDirect.error?.rawMessage);
    });
  });

  it("Connect GET carries the message in the query string (connect=v1, base64)", async () => {
    const input = { shop: "north", orderId: "o-5" };
    const m = method("GetOrder");
    const message = base64Encode(new TextEncoder().encode(JSON.stringify(input)), "url");
    const res = await fetch(
      `${convert()}/convert.v1.OrderService/GetOrder?connect=v1&encoding=json&base64=1&message=${message}`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(toJson(m.output, await unary(direct, "GetOrder")(input)));
  });

  it("CORS: a preflight from an allowed origin gets the allowances, another origin gets 403", async () => {
    const preflight = (origin: string) =>
      fetch(`${convert()}/convert.v1.OrderService/GetOrder`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,x-grpc-web,x-user-agent",
        },
      });
    const ok = await preflight(ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = ok.headers.get("access-control-allow-headers")?.split(", ") ?? [];
    expect(allowed).toEqual(
      expect.arrayContaining(["content-type", "x-grpc-web", "x-user-agent", "connect-protocol-version"]),
    );
    const refused = await preflight("http://evil.test");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();

    // The actual response names the origin and exposes the status headers a page must read.
    const res = await fetch(`${convert()}/v1/orders/o-1`, { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-expose-headers")).toContain("grpc-status");
    expect(res.headers.get("access-control-expose-headers")).toContain("x-app-header");
    await res.arrayBuffer();
  });

  it("gRPC-Web text mode (base64 body) is decoded and answered in text mode", async () => {
    const m = method("GetOrder");
    const { toBinary, create, fromBinary } = await import("@bufbuild/protobuf");
    const msg = toBinary(m.input, create(m.input, { orderId: "t-1" } as never));
    const frame = new Uint8Array(5 + msg.length);
    new DataView(frame.buffer).setUint32(1, msg.length);
    frame.set(msg, 5);
    const res = await fetch(`${convert()}/convert.v1.OrderService/GetOrder`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1" },
      body: base64Encode(frame),
    });
    expect(res.headers.get("content-type")).toBe("application/grpc-web-text+proto");
    const body = Buffer.from(await res.text(), "base64");
    const len = body.readUInt32BE(1);
    const got = fromBinary(m.output, body.subarray(5, 5 + len));
    expect(toJson(m.output, got)).toEqual(
      toJson(m.output, await unary(direct, "GetOrder")({ orderId: "t-1" })),
    );
    const trailer = body.subarray(5 + len);
    expect(trailer[0]).toBe(0x80);
    expect(trailer.subarray(5).toString()).toContain("grpc-status: 0");
  });
});
