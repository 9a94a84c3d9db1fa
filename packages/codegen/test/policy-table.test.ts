import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir, type GeneratedTree, generateTree } from "./support/generated.ts";
import { clientFactory, type GeneratedModule, modeOf, policiesOf, registration } from "./support/modules.ts";
import { RecordingHost } from "./support/recording-host.ts";

describe("generated policy tables", () => {
  let tree: GeneratedTree;
  const load = (file: string): Promise<GeneratedModule> => import(join(tree.dir, file));
  beforeAll(async () => {
    tree = await generateTree(corpusDir);
  });
  afterAll(() => tree.dispose());

  it("carry idempotency, deprecation and the (weft.v1.method) options of each method", async () => {
    const orders = await load("shop/orders/v1/orders_weft.ts");
    expect(policiesOf(orders, "OrderServicePolicies")).toStrictEqual({
      getOrder: {
        idempotency: "NO_SIDE_EFFECTS",
        timeoutMs: 2000,
        retry: {
          attempts: 3,
          perTryTimeoutMs: 500,
          retryOn: ["UNAVAILABLE", "CONNECT_FAILURE"],
          backoffBaseMs: 25,
          backoffMaxMs: 1000,
        },
        hedging: { maxAttempts: 2, delayMs: 100 },
      },
      createOrder: { idempotency: "IDEMPOTENCY_UNKNOWN", timeoutMs: 5000 },
      updateOrder: { idempotency: "IDEMPOTENT", retry: { attempts: 2 } },
      watchOrders: { idempotency: "NO_SIDE_EFFECTS" },
      importOrders: { idempotency: "IDEMPOTENCY_UNKNOWN" },
      chat: { idempotency: "IDEMPOTENCY_UNKNOWN" },
      legacyCancel: { idempotency: "IDEMPOTENCY_UNKNOWN", deprecated: true },
    });
    expect(modeOf(orders, "OrderServiceMode")).toBe("inprocess");
  });

  it("document each entry with the RPC signature and the policy in words", async () => {
    const text = await tree.read("shop/orders/v1/orders_weft.ts");
    expect(text).toContain(
      [
        "  /**",
        "   * Returns one order.",
        "   *",
        "   * `rpc GetOrder(shop.orders.v1.GetOrderRequest) returns (shop.orders.v1.Order);`",
        "   *",
        "   * - idempotency: NO_SIDE_EFFECTS (may be retried and hedged)",
        "   * - timeout: 2000 ms",
        "   * - retry: 3 attempts, 500 ms per try, on UNAVAILABLE, CONNECT_FAILURE, backoff 25 to 1000 ms",
        "   * - hedging: up to 2 attempts, 100 ms apart",
        "   */",
        "  getOrder: {",
      ].join("\n"),
    );
    expect(text).toContain(
      "`rpc Chat(stream shop.orders.v1.ChatMessage) returns (stream shop.orders.v1.ChatMessage);`",
    );
    expect(text).toMatch(/ {3}\* @deprecated\n {3}\*\/\n {2}legacyCancel: \{/);
  });

  it("keeps same-named services of two packages apart", async () => {
    const billing = await load("shop/billing/v1/billing_weft.ts");
    expect(policiesOf(billing, "OrderServicePolicies")).toStrictEqual({
      chargeOrder: {
        idempotency: "IDEMPOTENT",
        timeoutMs: 10_000,
        retry: { attempts: 4, retryOn: ["5XX", "RESET"] },
      },
    });
    expect(modeOf(billing, "OrderServiceMode")).toBe("sidecar");
    const host = new RecordingHost();
    clientFactory(billing, "createOrderServiceClient")(host);
    const orders = await load("shop/orders/v1/orders_weft.ts");
    clientFactory(orders, "createOrderServiceClient")(host);
    expect(host.clients.map((c) => c.service)).toEqual([
      "shop.billing.v1.OrderService",
      "shop.orders.v1.OrderService",
    ]);
    expect(host.clients[0]?.policies).toBe(billing.OrderServicePolicies);
    expect(host.clients[1]?.policies).toBe(orders.OrderServicePolicies);
  });

  it("reads options from an editions 2023 file", async () => {
    const edge = await load("edge/v1/edge_weft.ts");
    expect(policiesOf(edge, "EdgeServicePolicies")).toStrictEqual({
      ping: { idempotency: "IDEMPOTENT", timeoutMs: 750 },
    });
    expect(edge.EdgeServiceMode).toBeUndefined();
  });

  it("hands the table to the mesh host for clients and registrations, and a real in-memory call works", async () => {
    const orders = await load("shop/orders/v1/orders_weft.ts");
    const host = new RecordingHost();
    registration<{ getOrder(req: { id: string }): { id: string; note: string } }>(
      orders,
      "registerOrderService",
    )(host, { getOrder: (req) => ({ id: req.id, note: "served" }) });
    expect(host.served.get("shop.orders.v1.OrderService")?.policies).toBe(orders.OrderServicePolicies);
    const client = clientFactory<{ getOrder(req: { id: string }): Promise<{ id: string; note?: string }> }>(
      orders,
      "createOrderServiceClient",
    )(host);
    const order = await client.getOrder({ id: "o-7" });
    expect(order.id).toBe("o-7");
    expect(order.note).toBe("served");
  });
});
