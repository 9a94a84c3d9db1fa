export {
  DataPlane,
  type DataPlaneOptions,
  DEFAULT_TRUST_DOMAIN,
  type MethodDefaults,
  type Shape,
} from "./data-plane.ts";
export { Destinations, type HealthPolicies, type ProbeFactory } from "./destinations.ts";
export { type AnyPluginDefinition, PluginLoadError, type PluginModuleLoader } from "./plugin-refs.ts";
