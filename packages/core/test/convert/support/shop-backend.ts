import { create, type DescMethod, type DescService, type Message } from "@bufbuild/protobuf";
import { StringValueSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createConnectRouter } from "@connectrpc/connect";
import { createUniversalHandlerClient, type UniversalClientFn } from "@connectrpc/connect/protocol";
import { createTransport as createGrpcTransport } from "@connectrpc/connect/protocol-grpc";

export type RpcClient = Record<string, (request: unknown) => Promise<Message>>;

/** The status detail of the backend's NotFound error, as it travels on the wire. */
export const NOT_FOUND_DETAIL = {
  type: "google.protobuf.StringValue",
  value: new Uint8Array([10, 3, 98, 111, 111]),
};

/**
 * The Shop service as a real Connect router speaking gRPC, gRPC-Web and Connect, in memory.
 * It records every request it decodes and answers deterministically from the request, so a
 * transcoded call and a direct gRPC call can be compared on both sides.
 */
export function shopBackend(shop: DescService) {
  const received: Message[] = [];
  const router = createConnectRouter({ grpc: true, grpcWeb: true, connect: true });
  const impl: Record<string, (request: Message) => Message> = {};
  for (const method of shop.methods) {
    impl[method.localName] = (request) => {
      received.push(request);
      return respond(method, request as Message & Record<string, unknown>);
    };
  }
  router.service(shop, impl as never);
  const handler: UniversalClientFn = createUniversalHandlerClient(router.handlers);
  const max = Number.MAX_SAFE_INTEGER;
  const grpc = createGrpcTransport({
    httpClient: handler,
    baseUrl: "https://shop.test",
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: max,
    readMaxBytes: max,
    writeMaxBytes: max,
  });
  const client = createClient(shop, grpc) as unknown as RpcClient;
  return { received, handler, client };
}

function respond(method: DescMethod, req: Message & Record<string, unknown>): Message {
  const name = typeof req.name === "string" ? req.name : "";
  if (name.endsWith("/missing")) {
    throw new ConnectError(`book ${name} not found`, Code.NotFound, undefined, [
      { desc: StringValueSchema, value: { value: "boo" } },
    ]);
  }
  const book = (n: string) => ({
    name: n,
    title: "Dune",
    author: "Herbert",
    genre: 1,
    pages: 412n,
    tags: ["sf", "classic"],
    published: timestampFromMs(-139_968_000_000),
    price: 9.5,
    inPrint: true,
  });
  switch (method.output.typeName) {
    case "weft.convert.test.v1.Book": {
      const nested = req.book as { name?: string } | undefined;
      return create(method.output, book(name || nested?.name || "shelves/1/books/new"));
    }
    case "weft.convert.test.v1.ListBooksResponse":
      return create(method.output, { books: [book("shelves/1/books/1")], nextPageToken: "p2" });
    case "weft.convert.test.v1.GetOrderResponse":
      return create(method.output, {
        order: { ...(req.order as object), quantity: 3, items: ["a"] },
        etag: "e1",
      });
    case "weft.convert.test.v1.Order":
      return create(method.output, {
        orderId: req.orderId,
        customerId: req.customerId,
        quantity: req.quantity,
        items: req.items,
      });
    case "weft.convert.test.v1.GetFileResponse":
      return create(method.output, { path: req.path, content: new Uint8Array([1, 2, 3]) });
    default:
      return create(method.output);
  }
}
