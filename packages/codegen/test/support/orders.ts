import type { HandlerContext } from "@connectrpc/connect";

// What the tests use of the corpus's shop.orders.v1.OrderService, typed by hand: the
// generated modules are loaded at run time from a temporary directory (the type-check test
// checks their own types).

/** shop.orders.v1.Order as a client reads it: maps, a oneof, optional, well-known types, an enum. */
export interface Order {
  id: string;
  total?: { currencyCode: string; units: bigint; nanos: number };
  createdAt?: { seconds: bigint; nanos: number };
  items: Record<string, { sku: string; quantity: number }>;
  payment:
    | { case: "card"; value: { token: string } }
    | { case: "voucher"; value: string }
    | { case: undefined };
  note?: string;
  metadata?: Record<string, unknown>;
  status: number;
  shipTo?: { line1: string; line2?: string; labels: Record<string, string> };
  deliveryWindow?: { seconds: bigint; nanos: number };
}

/** The generated client's methods, all four kinds. */
export interface OrderClient {
  getOrder(req: { id: string }): Promise<Order>;
  watchOrders(req: { status?: number }): AsyncIterable<Order>;
  importOrders(reqs: AsyncIterable<{ id: string }>): Promise<{ imported: number }>;
  chat(reqs: AsyncIterable<{ text: string }>): AsyncIterable<{ text: string }>;
}

/** An implementation of the four methods, for registerOrderService or a connect-node router. */
export interface OrderImpl {
  getOrder(req: { id: string }, ctx: HandlerContext): Order | Promise<Order>;
  watchOrders(req: { status: number }, ctx: HandlerContext): AsyncIterable<Partial<Order>>;
  importOrders(reqs: AsyncIterable<Order>, ctx: HandlerContext): Promise<{ imported: number }>;
  chat(reqs: AsyncIterable<{ text: string }>, ctx: HandlerContext): AsyncIterable<{ text: string }>;
}

/** shop.orders.v1.Status.STATUS_SHIPPED */
export const STATUS_SHIPPED = 2;

/** An order that sets every kind of field the corpus's Order has. */
export function richOrder(id: string): Order {
  return {
    id,
    total: { currencyCode: "EUR", units: 12_345_678_901n, nanos: 500_000_000 },
    createdAt: { seconds: 1_700_000_000n, nanos: 7 },
    items: { "sku-1": { sku: "sku-1", quantity: 2 }, "sku-2": { sku: "sku-2", quantity: 5 } },
    payment: { case: "card", value: { token: "tok-9" } },
    note: "leave at the door",
    metadata: { channel: "web", retries: 0, tags: ["a", "b"], nested: { ok: true } },
    status: STATUS_SHIPPED,
    shipTo: { line1: "1 Main St", labels: { floor: "3" } },
    deliveryWindow: { seconds: 7_200n, nanos: 0 },
  };
}

/** What one handler invocation saw: the method, the caller's deadline and the sidecar's peer header. */
export interface Seen {
  readonly method: string;
  readonly timeoutMs: number | undefined;
  readonly peer: string | null;
}

export function orderImpl(seen: Seen[]): OrderImpl {
  const record = (method: string, ctx: HandlerContext) =>
    seen.push({ method, timeoutMs: ctx.timeoutMs(), peer: ctx.requestHeader.get("x-weft-peer-identity") });
  return {
    getOrder(req, ctx) {
      record("getOrder", ctx);
      return richOrder(req.id);
    },
    async *watchOrders(req, ctx) {
      record("watchOrders", ctx);
      for (const id of ["w-1", "w-2", "w-3"]) yield { id, status: req.status };
    },
    async importOrders(reqs, ctx) {
      record("importOrders", ctx);
      let imported = 0;
      for await (const _ of reqs) imported++;
      return { imported };
    },
    async *chat(reqs, ctx) {
      record("chat", ctx);
      for await (const m of reqs) yield { text: m.text.toUpperCase() };
    },
  };
}

async function* items<T>(...values: T[]): AsyncIterable<T> {
  yield* values;
}

/** Calls each of the four methods once and returns what came back, for one `toEqual`. */
export async function callEveryKind(client: OrderClient) {
  const order = await client.getOrder({ id: "o-1" });
  const watched: string[] = [];
  for await (const o of client.watchOrders({ status: STATUS_SHIPPED })) watched.push(`${o.id}:${o.status}`);
  const { imported } = await client.importOrders(items({ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }));
  const replies: string[] = [];
  for await (const m of client.chat(items({ text: "hi" }, { text: "there" }))) replies.push(m.text);
  return { order, watched, imported, replies };
}

/** What callEveryKind returns when every call made it there and back intact. */
export const everyKindAnswered = {
  watched: ["w-1:2", "w-2:2", "w-3:2"],
  imported: 4,
  replies: ["HI", "THERE"],
};
