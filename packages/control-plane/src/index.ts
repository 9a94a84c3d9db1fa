// Public API of @weft/control-plane: see README.md.

export { runCli } from "./cli/run.ts";
export { diffMeshConfig } from "./config/diff.ts";
export { validateMeshConfig } from "./config/validate.ts";
export {
  type ControlPlane,
  type ControlPlaneOptions,
  DEFAULT_CONTROL_PLANE_PORT,
  startControlPlane,
} from "./server/control-plane.ts";
export type { ConfigListener, ConfigStore, StoredConfig, TokenRecord } from "./store/config-store.ts";
export { StoreConflictError } from "./store/config-store.ts";
export { openFileStore } from "./store/file-store.ts";
export { type IssuedToken, issueToken, type TokenSubject, verifyToken } from "./tokens/tokens.ts";
export {
  type Dashboard,
  DEFAULT_DASHBOARD_PORT,
  type DataPlaneRow,
  type EdgeTraffic,
  type Overview,
  type ServiceRow,
} from "./dashboard/index.ts";
