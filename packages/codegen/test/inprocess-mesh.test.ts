import { join } from "node:path";
import { parseMeshConfig } from "@weft/core";
import { createMesh, type Mesh } from "@weft/inprocess";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir, type GeneratedTree, generateTree } from "./support/generated.ts";
import { clientFactory, type GeneratedModule, registration } from "./support/modules.ts";
import {
  callEveryKind,
  everyKindAnswered,
  type Order,
  type OrderClient,
  type OrderImpl,
  orderImpl,
  richOrder,
  type Seen,
} from "./support/orders.ts";
import { testCa, workload } from "./support/pki.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/test/sa/${sa}`;

/** The corpus's services, served by one mesh service "shop", found by RPC path. */
const RPC_SERVICES = [
  "shop.orders.v1.OrderService",
  "shop.billing.v1.OrderService",
  "reserved.v1.Promise",
  "edge.v1.EdgeService",
];

function shopConfig(port: number): string {
  return `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: shop, namespace: test }
spec:
  rpcServices: [${RPC_SERVICES.join(", ")}]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: shop, namespace: test }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${port} }]
`;
}

describe("generated clients through a real in-process mesh (mTLS HTTP/2, two meshes)", () => {
  let tree: GeneratedTree;
  const meshes: Mesh[] = [];
  let caller: Mesh;
  const seen: Seen[] = [];
  let orders: GeneratedModule;
  let billing: GeneratedModule;
  let reserved: GeneratedModule;
  let edge: GeneratedModule;

  beforeAll(async () => {
    tree = await generateTree(corpusDir);
    const load = (file: string): Promise<GeneratedModule> => import(join(tree.dir, file));
    orders = await load("shop/orders/v1/orders_weft.ts");
    billing = await load("shop/billing/v1/billing_weft.ts");
    reserved = await load("reserved/v1/reserved_weft.ts");
    edge = await load("edge/v1/edge_weft.ts");

    const ca = await testCa();
    const server = await createMesh({
      service: "shop",
      namespace: "test",
      credentials: await workload(ca, ID("shop")),
      listen: { host: "127.0.0.1", port: 0 },
    });
    meshes.push(server);
    registration<OrderImpl>(orders, "registerOrderService")(server, orderImpl(seen));
    registration<{ chargeOrder(req: { orderId: string; amount?: { units: bigint } }): Partial<Order> }>(
      billing,
      "registerOrderService",
    )(server, { chargeOrder: (req) => ({ id: req.orderId, note: `charged ${req.amount?.units}` }) });
    registration<{ then(req: { value: string }): { value: string } }>(reserved, "registerPromise")(server, {
      // biome-ignore lint/suspicious/noThenProperty: the service under test has a method named then
      then: (req) => ({ value: `${req.value}!` }),
    });
    registration<{ ping(req: { text: string; count?: number }): { text: string } }>(
      edge,
      "registerEdgeService",
    )(server, { ping: (req) => ({ text: `${req.text} x${req.count}` }) });

    caller = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      config: parseMeshConfig({ file: "shop.yaml", text: shopConfig(server.port ?? 0) }),
    });
    meshes.push(caller);
  }, 60_000);

  afterAll(async () => {
    for (const m of meshes) await m.close({ graceMs: 0 });
    await tree?.dispose();
  });

  it("make all four kinds of call, every field kind of the messages intact", async () => {
    const client = clientFactory<OrderClient>(orders, "createOrderServiceClient")(caller);
    const { order, ...rest } = await callEveryKind(client);
    expect(rest).toEqual(everyKindAnswered);
    expect(order).toMatchObject(richOrder("o-1"));
    expect(new Set(seen.map((s) => s.method))).toEqual(
      new Set(["getOrder", "watchOrders", "importOrders", "chat"]),
    );
  });

  it("run through the mesh chain with the generated policy table: the getOrder timeout reaches the server", async () => {
    const client = clientFactory<OrderClient>(orders, "createOrderServiceClient")(caller);
    const before = seen.length;
    await client.getOrder({ id: "o-2" });
    // (weft.v1.method) timeout of GetOrder is 2 s; the mesh sends the deadline on the wire.
    const timeout = seen.slice(before).find((s) => s.method === "getOrder")?.timeoutMs;
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(2_000);
    // watchOrders has no timeout in its policy: none is invented.
    expect(seen.find((s) => s.method === "watchOrders")?.timeoutMs).toBeUndefined();
    expect(await caller.metrics()).toMatch(
      /weft_requests_total\{place="client",service="shop",namespace="test"[^}]*code="ok"[^}]*\} [1-9]/,
    );
    const served = meshes[0];
    expect(await served?.metrics()).toMatch(
      /weft_requests_total\{place="server",service="shop"[^}]*\} [1-9]/,
    );
  });

  it("route same-named services of two packages, reserved names and editions 2023 each to their own handler", async () => {
    const charge = await clientFactory<{
      chargeOrder(req: { orderId: string; amount: { currencyCode: string; units: bigint } }): Promise<Order>;
    }>(
      billing,
      "createOrderServiceClient",
    )(caller).chargeOrder({
      orderId: "o-3",
      amount: { currencyCode: "EUR", units: 42n },
    });
    expect([charge.id, charge.note]).toEqual(["o-3", "charged 42"]);

    const promise = clientFactory<{ then(req: { value: string }): Promise<{ value: string }> }>(
      reserved,
      "createPromiseClient",
    )(caller);
    expect((await promise.then({ value: "kept" })).value).toBe("kept!");

    const pong = await clientFactory<{
      ping(req: { text: string; count: number }): Promise<{ text: string }>;
    }>(
      edge,
      "createEdgeServiceClient",
    )(caller).ping({ text: "hi", count: 3 });
    expect(pong.text).toBe("hi x3");
  });
});
