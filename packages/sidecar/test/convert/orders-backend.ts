import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  create,
  createFileRegistry,
  type DescMethod,
  type DescService,
  type FileRegistry,
  fromBinary,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

const FIXTURES = join(import.meta.dirname, "fixtures");
const BUF = join(import.meta.dirname, "../../../../node_modules/.bin/buf");

/** The test service's descriptors as a sidecar gets them: a descriptor set file built by buf. */
export async function buildDescriptorSet(): Promise<{ bytes: Uint8Array; registry: FileRegistry }> {
  const dir = await mkdtemp(join(tmpdir(), "weft-convert-"));
  try {
    const bytes = await readFile(await writeDescriptorSet(join(dir, "orders.binpb")));
    return { bytes, registry: createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `buf build -o <out>` of the test service: the file a sidecar's config names. */
export async function writeDescriptorSet(out: string): Promise<string> {
  await promisify(execFile)(BUF, ["build", "-o", out], { cwd: FIXTURES });
  return out;
}

type Fields = Record<string, unknown>;

/**
 * The unmodified gRPC backend: @grpc/grpc-js serving convert.v1.OrderService with dynamic
 * messages from the descriptors (no generated code), counting the calls each method gets.
 */
export async function startOrdersBackend(service: DescService, options: { reflection?: boolean } = {}) {
  const calls = new Map<string, number>();
  const count = (m: string) => calls.set(m, (calls.get(m) ?? 0) + 1);
  const method = (name: string) => service.methods.find((m) => m.name === name) as DescMethod;
  const out = (name: string, init: Fields): Message => create(method(name).output, init as never) as Message;
  const order = (shop: string, orderId: string, extra: Fields = {}): Fields => ({
    orderId,
    shop,
    items: [
      { sku: "tea", quantity: 2 },
      { sku: "cup", quantity: 1 },
    ],
    // Above 2^53: must survive as a JSON string, not a rounded number.
    totalCents: 9007199254740993n,
    status: 2,
    created: { seconds: 1700000000n, nanos: 500000000 },
    labels: { gift: "yes", lane: "b" },
    ...extra,
  });
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  for (const m of service.methods) {
    definition[m.name] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: (msg: Message) => Buffer.from(toBinary(m.input, msg)),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (msg: Message) => Buffer.from(toBinary(m.output, msg)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
    };
  }
  type Unary = grpc.ServerUnaryCall<Fields, Message>;
  const unary =
    (name: string, answer: (req: Fields, call: Unary) => Fields | grpc.ServiceError) =>
    (call: Unary, cb: grpc.sendUnaryData<Message>) => {
      count(name);
      const r = answer(call.request, call);
      if (r instanceof Error) cb(r);
      else cb(null, out(name, r));
    };
  const caller = (call: Unary) => String(call.metadata.get("x-caller")[0] ?? "");
  const server = new grpc.Server();
  server.addService(definition as grpc.ServiceDefinition, {
    GetOrder: unary("GetOrder", (req, call) => {
      if (req.orderId === "missing") {
        return Object.assign(new Error(), {
          code: grpc.status.NOT_FOUND,
          details: `order missing is not in shop "${req.shop}"`,
          metadata: new grpc.Metadata(),
        }) as grpc.ServiceError;
      }
      const o = order(String(req.shop), String(req.orderId), {
        caller: caller(call),
        // What the sidecar says about the caller's identity (never what the caller claims).
        note: String(call.metadata.get("x-weft-peer-identity")[0] ?? ""),
      });
      if (!req.includeItems) o.items = [];
      return o;
    }),
    ListOrders: unary("ListOrders", (req) => {
      const n = Number(req.pageSize) || 2;
      const statuses = (req.statuses as number[]).join(",");
      return {
        orders: Array.from({ length: n }, (_, i) => order(String(req.shop), `o-${i}`, { note: statuses })),
        nextPageToken: "next",
      };
    }),
    CreateOrder: unary("CreateOrder", (req) => ({
      ...(req.order as Fields),
      orderId: `new-${req.requestId}`,
      shop: req.shop,
    })),
    ReplaceOrder: unary("ReplaceOrder", (req) => ({
      orderId: req.orderId,
      shop: req.shop,
      items: req.items,
      note: req.note,
    })),
    UpdateOrder: unary("UpdateOrder", (req) => ({
      ...(req.order as Fields),
      note: `${(req.order as Fields).note} validate_only=${req.validateOnly}`,
    })),
    DeleteOrder: unary("DeleteOrder", () => ({})),
    WatchOrder: (call: grpc.ServerWritableStream<Fields, Message>) => {
      count("WatchOrder");
      const req = call.request;
      for (let i = 1; i <= Number(req.events); i++) {
        call.write(out("WatchOrder", { orderId: req.orderId, seq: i, status: i % 2 === 0 ? 2 : 1 }));
      }
      const fail = Number(req.failWith);
      if (fail) call.emit("error", { code: fail, details: `watch of ${req.orderId} failed` });
      else call.end();
    },
  });
  if (options.reflection) {
    // What an unmodified gRPC app often serves: reflection over its .proto files.
    const pkg = protoLoader.loadSync("convert/v1/orders.proto", {
      includeDirs: [join(FIXTURES, "proto"), join(FIXTURES, "shipped")],
    });
    new ReflectionService(pkg).addToServer(server);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return {
    port,
    calls,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
    forceClose: () => server.forceShutdown(),
  };
}
