import { execFile } from "node:child_process";
import http2 from "node:http2";
import { promisify } from "node:util";
import { type DescService, type JsonValue, type Message, toJson } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConvertedSidecar, startConvertedSidecar } from "./converted-sidecar.ts";

interface Rest {
  status: number;
  headers: Headers;
  json: JsonValue;
}

describe("REST/JSON at the sidecar in front of an unmodified gRPC backend", () => {
  let s: ConvertedSidecar;
  let direct: Client<DescService>;
  let service: DescService;

  beforeAll(async () => {
    s = await startConvertedSidecar();
    service = s.service;
    direct = createClient(service, createGrpcTransport({ baseUrl: `http://127.0.0.1:${s.backend.port}` }));
  });
  afterAll(() => s?.close());

  const rest = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${s.convertPort}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as JsonValue } satisfies Rest;
  };
  /** The direct gRPC answer in the protobuf JSON mapping, to compare field by field. */
  const viaGrpc = async (
    name: string,
    input: Record<string, unknown>,
    headers?: Record<string, string>,
    json?: { alwaysEmitImplicit: boolean },
  ) => {
    const m = service.methods.find((x) => x.name === name);
    if (!m) throw new Error(name);
    const call = direct[m.localName] as unknown as (i: unknown, o?: unknown) => Promise<Message>;
    return toJson(m.output, await call(input, { headers }), json);
  };

  it("GET binds path and query (bool) to the RPC: the JSON equals the direct gRPC answer field by field", async () => {
    const r = await rest("GET", "/v1/shops/north/orders/o-7?include_items=true", undefined, {
      "x-caller": "curl",
    });
    const g = await viaGrpc(
      "GetOrder",
      { shop: "north", orderId: "o-7", includeItems: true },
      { "x-caller": "curl" },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.json).toEqual(g);
    // The protobuf JSON mapping: int64 as a string, enum by name, Timestamp as RFC 3339, map as object.
    expect(r.json).toMatchObject({
      orderId: "o-7",
      totalCents: "9007199254740993",
      status: "STATUS_SHIPPED",
      created: "2023-11-14T22:13:20.500Z",
      labels: { gift: "yes", lane: "b" },
      items: [
        { sku: "tea", quantity: 2 },
        { sku: "cup", quantity: 1 },
      ],
      caller: "curl",
    });
  });

  it("additional_bindings: GET /v1/orders/{order_id} calls the same RPC", async () => {
    const r = await rest("GET", "/v1/orders/o-9");
    expect(r.status).toBe(200);
    expect(r.json).toEqual(await viaGrpc("GetOrder", { orderId: "o-9" }));
  });

  it("response_body sends one field of the response; a repeated enum query parameter takes names and numbers", async () => {
    const r = await rest("GET", "/v1/shops/south/orders?page_size=3&statuses=STATUS_PLACED&statuses=2");
    // core's transcoder renders a repeated response_body with implicit fields emitted (so an
    // empty list is [] not null), nested messages included.
    const g = (await viaGrpc("ListOrders", { shop: "south", pageSize: 3, statuses: [1, 2] }, undefined, {
      alwaysEmitImplicit: true,
    })) as {
      orders: JsonValue[];
    };
    expect(r.status).toBe(200);
    expect(r.json).toEqual(g.orders);
    expect((r.json as JsonValue[]).length).toBe(3);
    expect((r.json as { note: string }[])[0]?.note).toBe("1,2");
  });

  it('POST with body "order" (a field) and PUT with body "*" take the JSON body and the path', async () => {
    const order = { items: [{ sku: "pot", quantity: 4 }], totalCents: "12345678901234", labels: { a: "b" } };
    const created = await rest("POST", "/v1/shops/east/orders?request_id=r1", order);
    expect(created.status).toBe(200);
    expect(created.json).toEqual(
      await viaGrpc("CreateOrder", {
        shop: "east",
        requestId: "r1",
        order: { ...order, totalCents: 12345678901234n },
      }),
    );
    expect(created.json).toMatchObject({ orderId: "new-r1", shop: "east", totalCents: "12345678901234" });

    // An additional binding whose path is shaped like an RPC path (/v1/orders) is still REST.
    const short = await rest("POST", "/v1/orders?request_id=r2", { note: "short" });
    expect(short).toMatchObject({ status: 200, json: { orderId: "new-r2", note: "short" } });

    const replaced = await rest("PUT", "/v1/shops/east/orders/o-1", {
      items: [{ sku: "lid", quantity: 1 }],
      note: "all new",
    });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toEqual(
      await viaGrpc("ReplaceOrder", {
        shop: "east",
        orderId: "o-1",
        items: [{ sku: "lid", quantity: 1 }],
        note: "all new",
      }),
    );
  });

  it("PATCH binds a nested path field {order.order_id} under the body field, plus a query parameter", async () => {
    const r = await rest("PATCH", "/v1/orders/o-42?validate_only=true", {
      note: "leave at door",
      status: "STATUS_PLACED",
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      orderId: "o-42",
      note: "leave at door validate_only=true",
      status: "STATUS_PLACED",
    });
    expect(r.json).toEqual(
      await viaGrpc("UpdateOrder", {
        order: { orderId: "o-42", note: "leave at door", status: 1 },
        validateOnly: true,
      }),
    );
  });

  it("DELETE answers the empty message as {}", async () => {
    const before = s.backend.calls.get("DeleteOrder") ?? 0;
    const r = await rest("DELETE", "/v1/shops/east/orders/o-1");
    expect(r).toMatchObject({ status: 200, json: {} });
    expect(s.backend.calls.get("DeleteOrder")).toBe(before + 1);
  });

  it("a gRPC error of the backend becomes its HTTP status and a JSON body with the same code and message", async () => {
    const r = await rest("GET", "/v1/shops/north/orders/missing");
    const err = await viaGrpc("GetOrder", { shop: "north", orderId: "missing" }).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ code: "not_found", message: (err as ConnectError).rawMessage });
  });

  it("a request that cannot be converted is refused with 400 naming the parameter, and never reaches the backend", async () => {
    const before = s.backend.calls.get("ListOrders") ?? 0;
    const r = await rest("GET", "/v1/shops/south/orders?page_size=many");
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: "invalid_argument" });
    expect(String((r.json as { message: string }).message)).toContain('query parameter "page_size"');
    const bad = await rest("POST", "/v1/shops/east/orders", { items: "not a list" });
    expect(bad.status).toBe(400);
    expect(String((bad.json as { message: string }).message)).toContain("items");
    expect(s.backend.calls.get("ListOrders") ?? 0).toBe(before);
  });

  it("runs the inbound chain on the RPC: an authorization policy denies DeleteOrder over REST as over gRPC", async () => {
    const before = s.backend.calls.get("DeleteOrder") ?? 0;
    const r = await rest("DELETE", "/v1/shops/east/orders/o-2", undefined, { "x-deny": "yes" });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ code: "permission_denied" });
    expect(r.headers.get("weft-error")).toContain("authorization");
    expect(s.backend.calls.get("DeleteOrder")).toBe(before);
  });

  it("a caller cannot claim an identity: x-weft-peer-identity from the caller never reaches the backend", async () => {
    const r = await rest("GET", "/v1/orders/o-1", undefined, {
      "x-weft-peer-identity": "spiffe://weft.local/ns/shop/sa/admin",
    });
    expect(r.status).toBe(200);
    expect((r.json as { note?: string }).note).toBeUndefined();
  });

  it("mesh callers get REST too: the mesh inbound port converts a REST request over h2c", async () => {
    const session = http2.connect(`http://127.0.0.1:${s.inboundPort}`);
    try {
      const answer = await new Promise<{ status: number; json: JsonValue }>((resolve, reject) => {
        const req = session.request({ ":method": "GET", ":path": "/v1/shops/mesh/orders/o-8" });
        let status = 0;
        const chunks: Buffer[] = [];
        req.on("response", (h) => {
          status = Number(h[":status"]);
        });
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => resolve({ status, json: JSON.parse(Buffer.concat(chunks).toString()) }));
        req.on("error", reject);
        req.end();
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual(await viaGrpc("GetOrder", { shop: "mesh", orderId: "o-8" }));
    } finally {
      session.destroy();
    }
  });

  it("a path no annotation binds is a 404", async () => {
    const r = await rest("GET", "/v1/nothing/here");
    expect(r.status).toBe(404);
    const wrongMethod = await rest("DELETE", "/v1/orders/o-1");
    expect(wrongMethod.status).toBe(404);
  });

  it("a plain curl, HTTP/1.1 and h2c prior knowledge, calls the gRPC backend", async () => {
    const run = promisify(execFile);
    const url = `http://127.0.0.1:${s.convertPort}/v1/shops/west/orders?request_id=c1`;
    for (const proto of ["--http1.1", "--http2-prior-knowledge"]) {
      const { stdout } = await run("curl", [
        "-sS",
        proto,
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        '{"note":"by curl"}',
        url,
      ]);
      expect(JSON.parse(stdout)).toEqual({ orderId: "new-c1", shop: "west", note: "by curl" });
    }
  });
});
