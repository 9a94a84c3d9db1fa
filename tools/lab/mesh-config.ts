/** The lab's mesh namespace, and the service its client pod calls. */
export const MESH_NAMESPACE = "lab";
export const SERVICE = "echo";
export const CLIENT_SERVICE = "client";
export const SERVICE_PORT = 8080;

/**
 * The configuration the lab's control plane starts with: strict mTLS, retries of idempotent
 * calls (per-try timeout, so a partitioned endpoint costs one short wait), a peak-EWMA
 * balancer (so a slow endpoint is avoided), outlier detection (so a dead one is ejected),
 * and an authorization policy that lets only the client's identity call the service.
 * Endpoints are not listed: every sidecar registers its own through the control plane.
 */
export function labMeshYaml(): string {
  return `apiVersion: weft.dev/v1
kind: Mesh
spec:
  trustDomain: weft.local
  defaults:
    mtlsMode: STRICT
    timeout: { request: 5s }
    retry:
      attempts: 3
      perTryTimeout: 1s
      backoff: { base: 10ms, max: 100ms }
      retryOn: [CONNECT_FAILURE, REFUSED_STREAM, UNAVAILABLE, RESET]
      budget: { ratio: 0.2, minRetriesPerSecond: 20, window: 10s }
    loadBalancer: { algorithm: P2C_PEAK_EWMA }
    outlierDetection:
      consecutiveFailures: 3
      interval: 1s
      baseEjectionTime: 5s
      maxEjectionPercent: 50
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: ${SERVICE}, namespace: ${MESH_NAMESPACE} }
spec:
  mode: SIDECAR
  ports:
    - { name: http, port: ${SERVICE_PORT}, protocol: HTTP1 }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: ${CLIENT_SERVICE}, namespace: ${MESH_NAMESPACE} }
spec:
  mode: SIDECAR
  ports:
    - { name: http, port: ${SERVICE_PORT}, protocol: HTTP1 }
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: client-may-call-echo, namespace: ${MESH_NAMESPACE} }
spec:
  services: [${SERVICE}]
  action: ALLOW
  rules:
    - principals: ["spiffe://weft.local/ns/${MESH_NAMESPACE}/sa/${CLIENT_SERVICE}"]
`;
}
