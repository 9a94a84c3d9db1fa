// @weft/core/transport: the socket code both data-plane shapes share.
export { type BackoffOptions, backoffDelay, defaultBackoff } from "./backoff.ts";
export { grpcStatus, requestForCall } from "./call-request.ts";
export {
  type RequestBody,
  type RequestInit,
  type Trailers,
  TransportClient,
  type TransportResponse,
  type TunnelInit,
  toHeaders,
} from "./client.ts";
export { ConnectError, type ConnectPhase } from "./connect-error.ts";
export { applyEndpointDelta } from "./control-plane/apply-delta.ts";
export { AsyncQueue } from "./control-plane/async-queue.ts";
export {
  connectDataPlane,
  DATA_PLANE_RECONNECT_MAX_MS,
  type DataPlaneClient,
  type DataPlaneClientOptions,
  type DataPlaneEvent,
  type PushInfo,
} from "./control-plane/data-plane-client.ts";
export {
  CertificateRotator,
  type IssuedCredentials,
  type RotatorOptions,
  requestWorkloadCredentials,
  type WorkloadIdentityOptions,
} from "./control-plane/workload-identity.ts";
export { type MeshCredentials, meshSecureContext } from "./credentials.ts";
export {
  DatagramChannel,
  DatagramDecoder,
  encodeDatagram,
  MAX_DATAGRAM,
} from "./datagram.ts";
export { type ErrorResponse, errorResponse } from "./error-response.ts";
export {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  HEALTH_CHECK_PATH,
  ServingStatus,
} from "./grpc-health.ts";
export { H2cTransport } from "./h2c.ts";
export {
  Admission,
  type AdmissionOptions,
  DEFAULT_GLOBAL_MAX_CONNECTIONS,
  type GuardOptions,
  ListenerGuard,
  processAdmission,
  type Refusal,
} from "./limits/admission.ts";
export { MESH_INBOUND_PORT } from "./listen.ts";
export {
  defaultMemoryNetwork,
  MemoryNetwork,
  MemoryTransport,
  type MemoryTransportOptions,
} from "./memory.ts";
export { MtlsH2Transport } from "./mtls-h2.ts";
export {
  defaultOverloadThresholds,
  type HeapReading,
  OverloadMonitor,
  type OverloadMonitorOptions,
  type OverloadThresholds,
  type ReadHeap,
  readV8Heap,
} from "./overload/overload-monitor.ts";
export {
  ConnectionPool,
  type KeepaliveOptions,
  type PoolEndpoint,
  type PoolOptions,
  type PoolStats,
} from "./pool.ts";
export { grpcHealthProbe, httpProbe, type MeshProbeOptions, type Probe, tcpProbe } from "./probes.ts";
export { descriptorsFromReflection, type ReflectionClientOptions } from "./reflection-client.ts";
export { builtinTransports, type TransportFactory, TransportRegistry } from "./registry.ts";
export { parseAuthority, relayTcp, relayUdp } from "./relay.ts";
export { TUNNEL_ERROR_HEADER, TUNNEL_PROTOCOL_HEADER } from "./server-core.ts";
export { defaultServerLimits, type ServerLimits } from "./server-limits.ts";
export { parseSpiffeId, spiffeIdOf } from "./spiffe.ts";
export type {
  ConnectTarget,
  InboundTunnel,
  ListenOptions,
  MeshServer,
  OpenedSession,
  PeerInfo,
  ServerHandlers,
  Transport,
  TunnelProtocol,
} from "./transport.ts";
