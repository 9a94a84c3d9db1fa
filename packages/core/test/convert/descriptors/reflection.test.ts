import { createRequire } from "node:module";
import { join } from "node:path";
import type { DescMessage, DescService, FileRegistry } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescriptorError } from "../../../src/convert/descriptors/descriptor-error.ts";
import { descriptorsFromReflection } from "../../../src/transport/reflection-client.ts";

const require = createRequire(import.meta.url);
// Only v1alpha, as older servers have: the client must fall back to it.
const { ReflectionV1AlphaImplementation } =
  require("@grpc/reflection/build/src/implementations/reflection-v1alpha") as {
    ReflectionV1AlphaImplementation: new (
      pkg: protoLoader.PackageDefinition,
    ) => {
      addToServer(server: grpc.Server): void;
    };
  };

const FIXTURES = new URL("./fixtures", import.meta.url).pathname;
const pkg = protoLoader.loadSync(join(FIXTURES, "shop/v1/orders.proto"), {
  includeDirs: [FIXTURES],
  keepCase: true,
});

type Reflection = "v1+v1alpha" | "v1alpha" | "none";

/** A grpc-js server with shop.v1.Orders on 127.0.0.1 and the given reflection service. */
async function startServer(reflection: Reflection): Promise<{ server: grpc.Server; baseUrl: string }> {
  const server = new grpc.Server();
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
    shop: { v1: { Orders: { service: grpc.ServiceDefinition } } };
  };
  server.addService(loaded.shop.v1.Orders.service, {
    PlaceOrder: (call: grpc.ServerUnaryCall<{ item: string }, unknown>, done: grpc.sendUnaryData<unknown>) =>
      done(null, { order: { id: "o-1", item: call.request.item, price: { currency: "EUR", units: 3 } } }),
    WatchOrders: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  if (reflection === "v1+v1alpha") new ReflectionService(pkg).addToServer(server);
  if (reflection === "v1alpha") new ReflectionV1AlphaImplementation(pkg).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, baseUrl: `http://127.0.0.1:${port}` };
}

function expectOrdersDescribed(registry: FileRegistry): DescService {
  const orders = registry.getService("shop.v1.Orders");
  expect(orders?.methods.map((m) => [m.name, m.methodKind, m.output.typeName])).toEqual([
    ["PlaceOrder", "unary", "shop.v1.PlaceOrderResponse"],
    ["WatchOrders", "server_streaming", "shop.v1.Order"],
  ]);
  const order = registry.getMessage("shop.v1.Order") as DescMessage;
  expect(order.fields.map((f) => f.name)).toEqual(["id", "item", "price", "placed_at"]);
  expect(order.field.placedAt?.message?.typeName).toBe("google.protobuf.Timestamp");
  expect(order.field.price?.message?.typeName).toBe("shop.v1.Money");
  if (!orders) throw new Error("no shop.v1.Orders");
  return orders;
}

describe("descriptors from a grpc-js server's reflection service", () => {
  const servers: grpc.Server[] = [];
  const start = async (r: Reflection) => {
    const s = await startServer(r);
    servers.push(s.server);
    return s.baseUrl;
  };
  let full = "";

  beforeAll(async () => {
    full = await start("v1+v1alpha");
  });
  afterAll(() => {
    for (const s of servers) s.forceShutdown();
  });

  it("v1: every listed service, with its imports; the registry makes a working client", async () => {
    const registry = await descriptorsFromReflection({ baseUrl: full });
    // protobufjs writes one file per package, with no imports: they are inferred from the types
    // used, and the google.protobuf one is swapped for the local well-known file it needs.
    expect([...registry.files].map((f) => f.proto.name).sort()).toEqual([
      "google/protobuf/timestamp.proto",
      "shop_v1.proto",
    ]);
    const orders = expectOrdersDescribed(registry);
    // The descriptors are the server's own: a client built from them alone calls it.
    const client = createClient(orders, createGrpcTransport({ baseUrl: full })) as unknown as {
      placeOrder(req: { item: string }): Promise<{ order: { item: string; price: { units: bigint } } }>;
    };
    const res = await client.placeOrder({ item: "tea" });
    expect(res.order.item).toBe("tea");
    expect(res.order.price.units).toBe(3n);
  });

  it("only the services asked for, over a transport given by the caller", async () => {
    const registry = await descriptorsFromReflection({
      transport: createGrpcTransport({ baseUrl: full }),
      services: ["shop.v1.Orders"],
    });
    expectOrdersDescribed(registry);
  });

  it("falls back to v1alpha when the server has only that", async () => {
    const registry = await descriptorsFromReflection({ baseUrl: await start("v1alpha") });
    expectOrdersDescribed(registry);
  });

  it("a server without reflection: the error says so and names the server", async () => {
    const url = await start("none");
    const err = await descriptorsFromReflection({ baseUrl: url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DescriptorError);
    expect((err as Error).message).toBe(
      `${url}: the server has no gRPC reflection service (neither grpc.reflection.v1 nor v1alpha)`,
    );
  });

  it("an unknown service: the error names the symbol and the server's answer", async () => {
    const err = await descriptorsFromReflection({ baseUrl: full, services: ["shop.v1.Nope"] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DescriptorError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${full}: reflection refused file_containing_symbol shop\\.v1\\.Nope: .+ \\(gRPC code 5\\)$`,
      ),
    );
  });

  it("a server that is not there: Unavailable, naming it", async () => {
    const url = await start("none");
    servers.pop()?.forceShutdown();
    const err = await descriptorsFromReflection({ baseUrl: url, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DescriptorError);
    expect((err as Error).message).toMatch(new RegExp(`^${url}: reflection call failed: \\[Unavailable\\]`));
    expect(ConnectError.from((err as Error).cause).code).toBe(Code.Unavailable);
  });
});
