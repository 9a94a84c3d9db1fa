// Public API of @weft/control-plane: see README.md.

export {
  type AdminClientOptions,
  type AdminTarget,
  createAdminClient,
} from "./admin/admin-client.ts";
export { ADMIN_TOKEN_FILE } from "./admin/admin-token.ts";
export { runCli } from "./cli/run.ts";
export { diffMeshConfig } from "./config/diff.ts";
export { validateMeshConfig } from "./config/validate.ts";
export {
  type Dashboard,
  type DataPlaneRow,
  DEFAULT_DASHBOARD_PORT,
  type EdgeTraffic,
  type Overview,
  type ServiceRow,
} from "./dashboard/index.ts";
export {
  ExplainError,
  type ExplainedDestination,
  type ExplainedStep,
  type ExplainRequest,
  type Explanation,
  explainCall,
} from "./explain/explain.ts";
// Types only: the Kubernetes source loads @kubernetes/client-node (about 1 s) when used.
export type { KubernetesOptions, KubernetesState } from "./kubernetes/kubernetes-source.ts";
export {
  type ControlPlane,
  type ControlPlaneOptions,
  DEFAULT_CONTROL_PLANE_PORT,
  DEFAULT_WARMUP_MS,
  startControlPlane,
} from "./server/control-plane.ts";
export type {
  ConfigListener,
  ConfigStore,
  SharedRegistrations,
  StoredConfig,
  TokenRecord,
} from "./store/config-store.ts";
export { StoreConflictError } from "./store/config-store.ts";
export {
  DEFAULT_ETCD_PREFIX,
  type EtcdStore,
  type EtcdStoreOptions,
  openEtcdStore,
} from "./store/etcd-store.ts";
export { openFileStore } from "./store/file-store.ts";
export { openStoreUrl, parseEtcdStoreUrl } from "./store/store-url.ts";
export { type IssuedToken, issueToken, type TokenSubject, verifyToken } from "./tokens/tokens.ts";
