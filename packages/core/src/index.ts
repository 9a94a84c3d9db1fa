export * from "./authz/index.ts";
export * from "./balancer/index.ts";
export type {
  CallBody,
  CallKind,
  CallOutcome,
  EndpointRef,
  ForkCall,
  MeshCall,
  MeshResponse,
  NewCall,
  PeerIdentity,
  Place,
} from "./call/call.ts";
export { forkCall, newCall, settledResponse, whenSettled } from "./call/call.ts";
export { type AbortWatch, Cancellation, type Canceller, watchAbort } from "./call/cancellation.ts";
export {
  compose,
  filterStep,
  type Handler,
  type Interceptor,
  interceptorOf,
  type Step,
  terminalStep,
} from "./chain/chain.ts";
export type { Exchange, Filter, FilterRun, Open } from "./chain/filter.ts";
export {
  createPlugin,
  definePlugin,
  instantiatePlugin,
  type Logger,
  type Plugin,
  type PluginContext,
  type PluginDefinition,
  runsIn,
  silentLogger,
} from "./chain/plugin.ts";
export { type Clock, sleep, systemClock, type TimerHandle } from "./clock/clock.ts";
export { FakeClock } from "./clock/fake-clock.ts";
export * from "./config/index.ts";
export * from "./convert/index.ts";
export * from "./endpoints/index.ts";
export { codeFromHttpStatus, codeName, httpStatusFromCode } from "./errors/codes.ts";
export { asMeshError, ERROR_HEADER, MeshError, type Provenance } from "./errors/mesh-error.ts";
export * from "./health/index.ts";
export * from "./identity/index.ts";
export * from "./outlier/index.ts";
export * from "./resilience/index.ts";
export * from "./routing/index.ts";
export * from "./runtime/index.ts";
export * from "./telemetry/index.ts";
