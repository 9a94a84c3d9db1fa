import type { DescService, FileRegistry } from "@bufbuild/protobuf";
import { parseMeshConfig } from "@weft/core";
import type { MeshCredentials } from "@weft/core/transport";
import type { CorsOptions } from "../../src/convert/index.ts";
import { Sidecar } from "../../src/program/sidecar.ts";
import { buildDescriptorSet, startOrdersBackend } from "./orders-backend.ts";

// DeleteOrder carrying `x-deny: yes` is denied: a converted call must meet the same authorization.
const CONFIG = `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  rpcServices: [convert.v1.OrderService]
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: no-flagged-deletes, namespace: shop }
spec:
  services: [orders]
  action: DENY
  rules: [{ methods: ["convert.v1.OrderService/DeleteOrder"], headers: { x-deny: "yes" } }]
`;

export type ConvertedSidecar = Awaited<ReturnType<typeof startConvertedSidecar>>;

/**
 * The set-up every conversion test shares: the gRPC-only backend, and an h2c sidecar beside it
 * converting on its inbound port and on a conversion port, with descriptors built by buf.
 * With credentials the mesh inbound port is mTLS (strict), as between real mesh members.
 */
export async function startConvertedSidecar(cors?: CorsOptions, credentials?: MeshCredentials) {
  const { registry, bytes } = await buildDescriptorSet();
  const service = registry.getService("convert.v1.OrderService") as DescService;
  const backend = await startOrdersBackend(service);
  const sidecar = new Sidecar({
    service: "orders",
    namespace: "shop",
    snapshot: { version: "1", config: parseMeshConfig({ file: "orders.yaml", text: CONFIG }) },
    snapshotSource: "file",
    app: { address: "127.0.0.1", port: backend.port, protocol: "h2c" },
    outbound: { host: "127.0.0.1", port: 0 },
    inbound: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    localPorts: [],
    transparent: false,
    sniffMs: 200,
    drainMs: 200,
    credentials,
    conversion: {
      descriptors: registry as FileRegistry,
      cors,
      listen: { host: "127.0.0.1", port: 0 },
    },
  });
  await sidecar.start();
  return {
    sidecar,
    backend,
    registry,
    descriptorSet: bytes,
    service,
    convertPort: sidecar.ports.convert as number,
    inboundPort: sidecar.ports.inbound as number,
    close: async () => {
      await sidecar.stop(100);
      backend.forceClose();
    },
  };
}
