import { parseMeshConfig } from "@weft/core";
import type { MeshConfig } from "@weft/core/model";
import { TEST_SERVICE, UNIMPLEMENTED_SERVICE } from "./grpc-js-server.ts";

/**
 * Mesh config for `interop` in `shop`, serving both interop RPC services (so unimplemented_service
 * reaches the server and is answered there) at 127.0.0.1:`port`, strict mTLS.
 */
export function interopConfigYaml(port: number): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: interop, namespace: shop }
spec:
  ports: [{ name: grpc, port: 8080, protocol: PROTOCOL_GRPC }]
  rpcServices: [${TEST_SERVICE}, ${UNIMPLEMENTED_SERVICE}]
  mtlsMode: MTLS_MODE_STRICT
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: interop, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${port} }]
`;
}

export function interopConfig(port: number): MeshConfig {
  return parseMeshConfig({ file: "interop.yaml", text: interopConfigYaml(port) });
}
