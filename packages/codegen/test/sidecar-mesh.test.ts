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
import { testCa, workload } from "./support/pki.ts";
import { type SidecarProcess, scratchDir, startSidecar } from "./support/sidecar-process.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/test/sa/${sa}`;

function shopConfig(port: number): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: shop, namespace: test }
spec:
  rpcServices: [shop.orders.v1.OrderService]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: shop, namespace: test }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${port} }]
`;
}

// generated client --(gRPC over h2c)--> caller weft-sidecar --(mTLS HTTP/2)--> callee
// weft-sidecar --(h2c)--> a plain connect-node server (no mesh code in it)
describe("a generated client through two weft-sidecar processes", () => {
  let tree: GeneratedTree;
  let app: H2cApp;
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  const sidecars: SidecarProcess[] = [];
  let outbound: string;
  let callerAdmin: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    tree = await generateTree(corpusDir);
    scratch = await scratchDir();
    const OrderService = serviceOf(
      await import(join(tree.dir, "shop/orders/v1/orders_pb.js")),
      "OrderService",
    );
    app = await startH2cApp((router) =>
      router.service(OrderService, orderImpl(seen) as unknown as Partial<ServiceImpl<DescService>>),
    );

    const ca = await testCa();
    const tls = async (sa: string) => {
      const creds = await workload(ca, ID(sa));
      return [
        "--cert",
        await scratch.write(`${sa}.pem`, creds.chain),
        "--key",
        await scratch.write(`${sa}.key`, creds.key),
        "--ca",
        await scratch.write(`${sa}-ca.pem`, creds.trustAnchors.join("\n")),
      ];
    };
    const common = (config: string, service: string) => ["--config", config, "--service", service];
    const callee = await startSidecar([
      ...common(await scratch.write("callee.yaml", shopConfig(1)), "shop"),
      "--namespace",
      "test",
      "--app-port",
      String(app.port),
      "--app-protocol",
      "h2c",
      ...(await tls("shop")),
    ]);
    sidecars.push(callee);
    const caller = await startSidecar([
      ...common(await scratch.write("caller.yaml", shopConfig(callee.ports.inbound ?? 0)), "web"),
      "--namespace",
      "test",
      "--app-port",
      "9",
      ...(await tls("web")),
    ]);
    sidecars.push(caller);
    outbound = `http://127.0.0.1:${caller.ports.outbound}`;
    callerAdmin = `http://127.0.0.1:${caller.ports.admin}`;
  }, 60_000);

  afterAll(async () => {
    // SIGTERM, then SIGKILL 2 s later: the caller sidecar does not exit on SIGTERM while an
    // application keeps an idle HTTP/2 connection to its outbound port (the generated client's
    // pooled session), however short --drain-ms is.
    await Promise.all(sidecars.map((s) => s.stop(2_000)));
    await app?.close();
    await scratch?.remove();
    await tree?.dispose();
  });

  it("make all four kinds of call, every field kind of the messages intact", async () => {
    const orders = await import(join(tree.dir, "shop/orders/v1/orders_weft.ts"));
    const client = clientFactory<OrderClient>(orders, "createOrderServiceClient")({ sidecar: outbound });
    const { order, ...rest } = await callEveryKind(client);
    expect(rest).toEqual(everyKindAnswered);
    expect(order).toMatchObject(richOrder("o-1"));
  });

  it("cross the mesh hop over mTLS: the app behind the callee sidecar learns the caller's SPIFFE ID", async () => {
    expect(seen.map((s) => s.method)).toEqual(["getOrder", "watchOrders", "importOrders", "chat"]);
    for (const s of seen) expect(s.peer, s.method).toBe(ID("web"));
    // The caller sidecar's outbound chain ran each call, routed by RPC path to mesh service shop.
    const metrics = await (await fetch(`${callerAdmin}/metrics`)).text();
    const ok = metrics.matchAll(
      /^weft_requests_total\{place="sidecar-outbound",service="shop",namespace="test"[^}]*code="ok"[^}]*\} (\d+)$/gm,
    );
    expect([...ok].reduce((n, m) => n + Number(m[1]), 0)).toBe(4);
  });
});
