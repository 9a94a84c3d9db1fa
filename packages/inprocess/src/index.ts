export {
  createMeshClient,
  type MeshClientOptions,
  registerMeshService,
  sidecarTransport,
} from "./client/create-client.ts";
export {
  isSidecarTarget,
  type MeshClientTarget,
  type MeshHost,
  type MeshServiceOptions,
  type RpcProtocol,
} from "./client/target.ts";
export type { GrpcServicesOptions } from "./grpc/grpc-services.ts";
export { createMesh, type Mesh, type MeshHealth } from "./mesh/create-mesh.ts";
export type { CreateMeshOptions } from "./mesh/options.ts";
export type {
  Idempotency,
  MethodPolicy,
  MethodPolicyTable,
  ServiceMode,
  SidecarTarget,
} from "./policy/method-policy.ts";
