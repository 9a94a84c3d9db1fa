/**
 * The orders service: connect-es handlers in the in-process mesh. It joins through the
 * control plane (certificate from its CA, configuration and endpoints from discovery, its own
 * endpoint registered), and fans each quote out to the catalog (REST) and the inventory (gRPC).
 *
 *   WEFT_CONTROL_PLANE=http://127.0.0.1:15010 WEFT_TOKEN=<bootstrap token> \
 *     node --conditions=@weft/source examples/shop/src/orders/main.ts [--admin-port 0]
 *
 * Serves /metrics (Prometheus), /traffic and /health (JSON) on its admin port, and prints one
 * JSON line `{"msg":"orders ready",...}` on stdout with its ports and identity.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { createMesh, type Mesh } from "@weft/inprocess";
import { createInventoryServiceClient } from "../gen/shop/inventory/v1/inventory_weft.ts";
import { registerOrderService } from "../gen/shop/orders/v1/orders_weft.ts";
import { catalogClient } from "./catalog-client.ts";

export function serveOrders(mesh: Mesh): void {
  const catalog = catalogClient(mesh);
  const inventory = createInventoryServiceClient(mesh);
  registerOrderService(mesh, {
    async getQuote(req, ctx) {
      const [item, stock] = await Promise.all([
        catalog.getItem(req.sku, ctx.signal),
        inventory.getStock({ sku: req.sku }, { signal: ctx.signal }),
      ]);
      const quantity = Math.max(1, req.quantity);
      return {
        sku: item.sku,
        name: item.name,
        quantity,
        totalCents: item.priceCents * BigInt(quantity),
        inStock: stock.available >= quantity,
        inventoryReplica: stock.replica,
      };
    },
  });
}

/** The admin port of an in-process service: what a sidecar's admin port gives, for the mesh inside. */
export function adminServer(mesh: Mesh): http.Server {
  return http.createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(await mesh.metrics());
    } else if (path === "/traffic") json(200, mesh.traffic());
    else if (path === "/health" || path === "/ready") {
      const h = mesh.health();
      json(h.ready ? 200 : 503, h);
    } else json(404, { error: "admin paths: /metrics /traffic /health /ready" });
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      "admin-port": { type: "string", default: "0" },
      "mesh-port": { type: "string", default: "0" },
    },
  });
  const url = process.env.WEFT_CONTROL_PLANE;
  const token = process.env.WEFT_TOKEN;
  if (!url || !token) {
    console.error(
      "orders: set WEFT_CONTROL_PLANE (the control plane's URL) and WEFT_TOKEN (a bootstrap token)",
    );
    process.exit(2);
  }
  const mesh = await createMesh({
    service: "orders",
    namespace: "shop",
    controlPlane: { url, token },
    listen: { host: "127.0.0.1", port: Number(values["mesh-port"]) },
  });
  serveOrders(mesh);
  const admin = adminServer(mesh);
  await new Promise<void>((r) => admin.listen(Number(values["admin-port"]), "127.0.0.1", r));
  const health = mesh.health();
  console.log(
    JSON.stringify({
      msg: "orders ready",
      ports: { mesh: mesh.port, admin: (admin.address() as AddressInfo).port },
      identity: health.identity,
      configVersion: health.configVersion,
      certificateExpiry: health.certificateExpiry,
    }),
  );
  const stop = async () => {
    admin.closeAllConnections();
    admin.close();
    await mesh.close({ graceMs: 1_000 });
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
