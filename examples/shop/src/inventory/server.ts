/**
 * The inventory: an ordinary @grpc/grpc-js server that loads its .proto at run time with
 * @grpc/proto-loader, with no mesh code and no Connect in it. In the demo two replicas run,
 * each behind its own weft-sidecar.
 *
 *   node examples/shop/src/inventory/server.ts [--port 0] [--replica inventory-1]
 *
 * Prints one JSON line `{"msg":"inventory listening","port":N,"replica":"..."}` on stdout.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoFile = fileURLToPath(new URL("../../proto/shop/inventory/v1/inventory.proto", import.meta.url));

interface StockReply {
  sku: string;
  available: number;
  replica: string;
}

type ServiceDef = grpc.ServiceDefinition;

export function inventoryServer(replica: string): grpc.Server {
  const definition = protoLoader.loadSync(protoFile, { keepCase: false, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    shop: { inventory: { v1: { InventoryService: { service: ServiceDef } } } };
  };
  const server = new grpc.Server();
  server.addService(pkg.shop.inventory.v1.InventoryService.service, {
    getStock(
      call: grpc.ServerUnaryCall<{ sku: string }, StockReply>,
      callback: grpc.sendUnaryData<StockReply>,
    ) {
      const sku = call.request.sku;
      if (!sku) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "sku is required" });
        return;
      }
      // A stable, made-up stock level per sku.
      let h = 0;
      for (const c of sku) h = (h * 31 + c.charCodeAt(0)) >>> 0;
      callback(null, { sku, available: h % 50, replica });
    },
  });
  return server;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      replica: { type: "string", default: "inventory" },
    },
  });
  const server = inventoryServer(values.replica);
  server.bindAsync(`${values.host}:${values.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      console.error(`inventory: cannot listen on ${values.host}:${values.port}: ${err.message}`);
      process.exit(1);
    }
    console.log(JSON.stringify({ msg: "inventory listening", port, replica: values.replica }));
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
