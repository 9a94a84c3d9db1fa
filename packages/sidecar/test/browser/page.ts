// Runs in Chromium (bundled by esbuild): calls the gRPC-only backend through the sidecar with
// connect-web's gRPC-Web and Connect transports and with fetch (REST), and leaves what it got
// in `globalThis.results` for the test to read.
import { createFileRegistry, type DescService, fromBinary, type Message, toJson } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { type Client, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";

interface PageConfig {
  readonly sidecar: string;
  readonly descriptorSet: string;
}

type Unary = (input: unknown, options?: { headers?: Record<string, string> }) => Promise<Message>;
type Streaming = (input: unknown) => AsyncIterable<Message>;

const g = globalThis as unknown as { WEFT: PageConfig; results?: unknown; failure?: string };

async function run(): Promise<unknown> {
  const { sidecar, descriptorSet } = g.WEFT;
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, base64Decode(descriptorSet)));
  const service = registry.getService("convert.v1.OrderService") as DescService;
  const output = (name: string) => service.methods.find((m) => m.name === name)?.output;
  const json = (name: string, m: Message) => toJson(output(name) as never, m as never);

  async function exercise(transport: Transport) {
    const client = createClient(service, transport) as Client<DescService>;
    const get = client.getOrder as unknown as Unary;
    const watch = client.watchOrder as unknown as Streaming;
    const order = json(
      "GetOrder",
      await get({ shop: "web", orderId: "o-1", includeItems: true }, { headers: { "x-caller": "page" } }),
    );
    const events: unknown[] = [];
    for await (const e of watch({ orderId: "w-1", events: 3 })) events.push(json("WatchOrder", e));
    let error: unknown;
    try {
      await get({ shop: "web", orderId: "missing" });
    } catch (e) {
      const c = ConnectError.from(e);
      error = { code: c.code, message: c.rawMessage };
    }
    const streamError: { events: unknown[]; code?: number; message?: string } = { events: [] };
    try {
      for await (const e of watch({ orderId: "w-2", events: 2, failWith: 9 }))
        streamError.events.push(json("WatchOrder", e));
    } catch (e) {
      const c = ConnectError.from(e);
      streamError.code = c.code;
      streamError.message = c.rawMessage;
    }
    return { order, events, error, streamError };
  }

  const rest = await fetch(`${sidecar}/v1/shops/web/orders/o-1?include_items=true`);
  const created = await fetch(`${sidecar}/v1/shops/web/orders?request_id=p1`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ note: "from the page" }),
  });
  return {
    grpcWeb: await exercise(createGrpcWebTransport({ baseUrl: sidecar })),
    connect: await exercise(createConnectTransport({ baseUrl: sidecar })),
    connectBinary: await exercise(createConnectTransport({ baseUrl: sidecar, useBinaryFormat: true })),
    rest: { status: rest.status, json: await rest.json() },
    restPost: { status: created.status, json: await created.json() },
  };
}

run().then(
  (r) => {
    g.results = r;
  },
  (e: unknown) => {
    g.failure = String((e as Error)?.stack ?? e);
  },
);
