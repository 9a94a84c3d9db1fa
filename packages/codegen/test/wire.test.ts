import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir, type GeneratedTree, generateTree } from "./support/generated.ts";
import { clientFactory, serviceOf } from "./support/modules.ts";

interface Order {
  id: string;
  note?: string;
}

/** The generated client's methods this test calls, all four kinds. */
interface OrderClient {
  getOrder(req: { id: string }): Promise<Order>;
  watchOrders(req: object): AsyncIterable<Order>;
  importOrders(reqs: AsyncIterable<Partial<Order>>): Promise<{ imported: number }>;
  chat(reqs: AsyncIterable<{ text: string }>): AsyncIterable<{ text: string }>;
}

async function* items<T>(...values: T[]): AsyncIterable<T> {
  yield* values;
}

describe("a generated client over the wire", () => {
  let tree: GeneratedTree;
  let server: http2.Http2Server;
  const sessions = new Set<http2.ServerHttp2Session>();
  let sidecar: string;

  beforeAll(async () => {
    tree = await generateTree(corpusDir);
    const OrderService = serviceOf(
      await import(join(tree.dir, "shop/orders/v1/orders_pb.js")),
      "OrderService",
    );
    const impl = {
      getOrder: (req: { id: string }) => ({ id: req.id, note: "over h2c" }),
      async *watchOrders() {
        yield { id: "w-1" };
        yield { id: "w-2" };
      },
      async importOrders(reqs: AsyncIterable<unknown>) {
        let imported = 0;
        for await (const _ of reqs) imported++;
        return { imported };
      },
      async *chat(reqs: AsyncIterable<{ text: string }>) {
        for await (const m of reqs) yield { text: m.text.toUpperCase() };
      },
    };
    const handler = connectNodeAdapter({
      routes: (router) => router.service(OrderService, impl as unknown as Partial<ServiceImpl<DescService>>),
    });
    server = http2.createServer(handler);
    server.on("session", (s) => {
      sessions.add(s);
      s.on("close", () => sessions.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    sidecar = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await tree.dispose();
  });

  it("calls a plain connect-node h2c server through a sidecar target, every method kind", async () => {
    const orders = await import(join(tree.dir, "shop/orders/v1/orders_weft.ts"));
    const client = clientFactory<OrderClient>(orders, "createOrderServiceClient")({ sidecar });

    const order = await client.getOrder({ id: "o-1" });
    expect([order.id, order.note]).toEqual(["o-1", "over h2c"]);

    const watched: string[] = [];
    for await (const o of client.watchOrders({})) watched.push(o.id);
    expect(watched).toEqual(["w-1", "w-2"]);

    expect((await client.importOrders(items({ id: "a" }, { id: "b" }, { id: "c" }))).imported).toBe(3);

    const replies: string[] = [];
    for await (const m of client.chat(items({ text: "hi" }, { text: "there" }))) replies.push(m.text);
    expect(replies).toEqual(["HI", "THERE"]);
  });
});
