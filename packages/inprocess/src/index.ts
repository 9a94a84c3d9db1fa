export {
  createMeshClient,
  type MeshClientOptions,
  registerMeshService,
  type SidecarProtocol,
  sidecarTransport,
} from "./client/create-client.ts";
export {
  isSidecarTarget,
  type MeshClientTarget,
  type MeshHost,
  type MeshServiceOptions,
} from "./client/target.ts";
export type {
  Idempotency,
  MethodPolicy,
  MethodPolicyTable,
  ServiceMode,
  SidecarTarget,
} from "./policy/method-policy.ts";
