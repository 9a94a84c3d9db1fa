import http from "node:http";
import { type DescService, type JsonValue, type Message, toJson } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { parseMeshConfig } from "@weft/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sidecar } from "../../src/program/sidecar.ts";
import { testCa, workload } from "../pki.ts";
import { type ConvertedSidecar, startConvertedSidecar } from "./converted-sidecar.ts";

const WEB = "spiffe://weft.local/ns/shop/sa/web";

/**
 * A mesh caller that speaks REST or Connect to a gRPC-only service: its app talks to its own
 * sidecar, the call crosses the mesh wire (mTLS), and the callee's sidecar converts on its
 * inbound port, telling the backend who called from the caller's certificate.
 */
describe("REST and Connect from a mesh caller, converted by the callee's sidecar over mTLS", () => {
  let callee: ConvertedSidecar;
  let caller: Sidecar;
  let direct: Client<DescService>;

  beforeAll(async () => {
    const ca = await testCa();
    callee = await startConvertedSidecar(undefined, await workload(ca, "shop", "orders"));
    direct = createClient(
      callee.service,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${callee.backend.port}` }),
    );
    const config = `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  rpcServices: [convert.v1.OrderService]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${callee.inboundPort} }]
`;
    caller = new Sidecar({
      service: "web",
      namespace: "shop",
      snapshot: { version: "1", config: parseMeshConfig({ file: "web.yaml", text: config }) },
      snapshotSource: "file",
      app: { address: "127.0.0.1", port: 9, protocol: "http1" },
      outbound: { host: "127.0.0.1", port: 0 },
      inbound: { host: "127.0.0.1", port: 0 },
      admin: { host: "127.0.0.1", port: 0 },
      localPorts: [],
      transparent: false,
      sniffMs: 200,
      drainMs: 200,
      credentials: await workload(ca, "shop", "web"),
    });
    await caller.start();
  });
  afterAll(async () => {
    await caller?.stop(100);
    await callee?.close();
  });

  const getOrder = () => callee.service.methods.find((m) => m.name === "GetOrder");

  it("REST: the app's plain HTTP/1.1 request reaches the backend with the caller's identity from its certificate", async () => {
    // The app names the service in Host, as it would call http://orders.shop/... through its sidecar.
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(
        {
          host: "127.0.0.1",
          port: caller.ports.outbound,
          path: "/v1/shops/mesh/orders/o-1",
          headers: { host: "orders.shop", "x-weft-peer-identity": "spiffe://weft.local/ns/shop/sa/admin" },
        },
        (r) => {
          let body = "";
          r.on("data", (c: Buffer) => {
            body += c.toString();
          });
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
    });
    expect(res.status).toBe(200);
    const json = JSON.parse(res.body) as JsonValue;
    const m = getOrder();
    if (!m) throw new Error("GetOrder");
    const want = toJson(
      m.output,
      await (direct[m.localName] as unknown as (i: unknown) => Promise<Message>)({
        shop: "mesh",
        orderId: "o-1",
      }),
    );
    // The backend echoes x-weft-peer-identity in note: the certificate's, not the header sent.
    expect(json).toEqual({ ...(want as object), note: WEB });
  });

  it("Connect JSON: routed by its RPC path to the service, converted at the callee", async () => {
    const client = createClient(
      callee.service,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${caller.ports.outbound}`, httpVersion: "1.1" }),
    );
    const m = getOrder();
    if (!m) throw new Error("GetOrder");
    const got = await (client[m.localName] as unknown as (i: unknown) => Promise<Message>)({
      shop: "mesh",
      orderId: "o-2",
    });
    expect(toJson(m.output, got)).toMatchObject({ orderId: "o-2", shop: "mesh", note: WEB });
  });
});
