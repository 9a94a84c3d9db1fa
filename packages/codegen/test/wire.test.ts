import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir, type GeneratedTree, generateTree } from "./support/generated.ts";
import { type H2cApp, startH2cApp } from "./support/h2c-app.ts";
import { clientFactory, serviceOf } from "./support/modules.ts";
import {
  callEveryKind,
  everyKindAnswered,
  type OrderClient,
  orderImpl,
  richOrder,
  type Seen,
} from "./support/orders.ts";

// The sidecar target's own protocol (gRPC over h2c), against a plain connect-node server
// standing where the local sidecar would be; sidecar-mesh.test.ts runs real sidecars.
describe("a generated client over the wire", () => {
  let tree: GeneratedTree;
  let app: H2cApp;
  const seen: Seen[] = [];

  beforeAll(async () => {
    tree = await generateTree(corpusDir);
    const OrderService = serviceOf(
      await import(join(tree.dir, "shop/orders/v1/orders_pb.js")),
      "OrderService",
    );
    app = await startH2cApp((router) =>
      router.service(OrderService, orderImpl(seen) as unknown as Partial<ServiceImpl<DescService>>),
    );
  });

  afterAll(async () => {
    await app?.close();
    await tree?.dispose();
  });

  it("calls a plain connect-node h2c server through a sidecar target, every method kind", async () => {
    const orders = await import(join(tree.dir, "shop/orders/v1/orders_weft.ts"));
    const client = clientFactory<OrderClient>(orders, "createOrderServiceClient")({ sidecar: app.url });
    const { order, ...rest } = await callEveryKind(client);
    expect(rest).toEqual(everyKindAnswered);
    expect(order).toMatchObject(richOrder("o-1"));
    expect(seen.map((s) => s.method)).toEqual(["getOrder", "watchOrders", "importOrders", "chat"]);
  });
});
