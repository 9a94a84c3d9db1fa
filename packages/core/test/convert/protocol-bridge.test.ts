import { create, type DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createTransport as createConnectTransport } from "@connectrpc/connect/protocol-connect";
import { createTransport as createGrpcTransport } from "@connectrpc/connect/protocol-grpc";
import { createTransport as createGrpcWebTransport } from "@connectrpc/connect/protocol-grpc-web";
import { describe, expect, it } from "vitest";
import {
  connectUnaryRequestToGrpc,
  connectUnaryResponseToGrpc,
  grpcRequestToConnectUnary,
  grpcResponseToConnectUnary,
} from "../../src/convert/connect-unary.ts";
import {
  grpcRequestToGrpcWeb,
  grpcResponseToGrpcWeb,
  grpcWebRequestToGrpc,
  grpcWebResponseToGrpc,
} from "../../src/convert/grpc-web.ts";
import { exchange, once, readAll } from "./support/http.ts";
import { NOT_FOUND_DETAIL, type RpcClient, shopBackend } from "./support/shop-backend.ts";
import { compileShop } from "./support/shop-descriptors.ts";

const { shop } = compileShop();
const getBook = shop.methods.find((m) => m.name === "GetBook") as DescMethod;
const max = Number.MAX_SAFE_INTEGER;
const common = {
  baseUrl: "https://shop.test",
  interceptors: [],
  acceptCompression: [],
  sendCompression: null,
  compressMinBytes: max,
  readMaxBytes: max,
  writeMaxBytes: max,
};

/**
 * A real Connect-ES client of one protocol, whose requests are converted by the functions
 * under test and served by the in-memory backend speaking another protocol: if the
 * conversion is wrong on any byte, the client or the server fails to parse.
 */
function bridgedClient(
  protocol: "grpc-web" | "grpc" | "connect",
  useBinaryFormat: boolean,
  httpClient: UniversalClientFn,
): RpcClient {
  const options = { ...common, useBinaryFormat, httpClient };
  const transport =
    protocol === "grpc-web"
      ? createGrpcWebTransport(options)
      : protocol === "grpc"
        ? createGrpcTransport(options)
        : createConnectTransport(options);
  return createClient(shop, transport) as unknown as RpcClient;
}

const scenarios: {
  name: string;
  client: "grpc-web" | "grpc" | "connect";
  bridge: (backend: UniversalClientFn) => UniversalClientFn;
}[] = [
  {
    name: "gRPC-Web client -> gRPC server",
    client: "grpc-web",
    bridge: (backend) => async (req) => {
      const grpcReq = grpcWebRequestToGrpc({ headers: req.header, body: await readAll(req.body) });
      const res = await exchange(backend, { ...req, header: grpcReq.headers }, grpcReq.body);
      const web = grpcResponseToGrpcWeb({ headers: res.headers, body: res.body, trailers: res.trailers });
      return { status: res.status, header: web.headers, body: once(web.body), trailer: new Headers() };
    },
  },
  {
    name: "gRPC client -> gRPC-Web server",
    client: "grpc",
    bridge: (backend) => async (req) => {
      const webReq = grpcRequestToGrpcWeb({ headers: req.header, body: await readAll(req.body) });
      const res = await exchange(backend, { ...req, header: webReq.headers }, webReq.body);
      const grpc = grpcWebResponseToGrpc({ headers: res.headers, body: res.body });
      return { status: res.status, header: grpc.headers, body: once(grpc.body), trailer: grpc.trailers };
    },
  },
  {
    name: "Connect client -> gRPC server",
    client: "connect",
    bridge: (backend) => async (req) => {
      const grpcReq = connectUnaryRequestToGrpc({ headers: req.header, body: await readAll(req.body) });
      const res = await exchange(backend, { ...req, header: grpcReq.headers }, grpcReq.body);
      const unary = grpcResponseToConnectUnary({
        headers: res.headers,
        body: res.body,
        trailers: res.trailers,
      });
      return { status: unary.status, header: unary.headers, body: once(unary.body), trailer: new Headers() };
    },
  },
  {
    name: "gRPC client -> Connect server",
    client: "grpc",
    bridge: (backend) => async (req) => {
      const connectReq = grpcRequestToConnectUnary({ headers: req.header, body: await readAll(req.body) });
      const res = await exchange(backend, { ...req, header: connectReq.headers }, connectReq.body);
      const grpc = connectUnaryResponseToGrpc({ status: res.status, headers: res.headers, body: res.body });
      return { status: 200, header: grpc.headers, body: once(grpc.body), trailer: grpc.trailers };
    },
  },
];

describe.each(scenarios)("$name", ({ client, bridge }) => {
  it.each([true, false])(
    "calls through with useBinaryFormat=%s and gets the same response as a direct call",
    async (binary) => {
      const backend = shopBackend(shop);
      const bridged = bridgedClient(client, binary, bridge(backend.handler));
      const request = create(getBook.input, { name: "shelves/1/books/2" });
      const viaBridge = await bridged.getBook?.(request);
      const direct = await backend.client.getBook?.(request);
      expect(viaBridge).toEqual(direct);
      expect(backend.received).toHaveLength(2);
      expect(backend.received[0]).toEqual(backend.received[1]);
    },
  );

  it("carries an error's code, message and details", async () => {
    const backend = shopBackend(shop);
    const bridged = bridgedClient(client, true, bridge(backend.handler));
    const err = await bridged.getBook?.(create(getBook.input, { name: "shelves/0/books/missing" })).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.rawMessage).toBe("book shelves/0/books/missing not found");
    expect(err?.details).toEqual([NOT_FOUND_DETAIL]);
  });
});
