/** The API group of Weft's custom resources, and its one version. */
export const WEFT_GROUP = "weft.dev";
export const WEFT_VERSION = "v1";

/** A kind of Weft custom resource, as the CRD manifests in deploy/crds declare it. */
export interface WeftResource {
  readonly kind: "Mesh" | "Service" | "Route" | "AuthorizationPolicy";
  readonly plural: string;
  readonly namespaced: boolean;
}

/**
 * The kinds the control plane watches. Their spec is the same JSON as a YAML document's, so
 * core's loader (parseMeshConfig) reads them. Endpoints are not among them: on Kubernetes
 * they come from EndpointSlices.
 */
export const WEFT_RESOURCES: readonly WeftResource[] = [
  { kind: "Mesh", plural: "meshes", namespaced: false },
  { kind: "Service", plural: "services", namespaced: true },
  { kind: "Route", plural: "routes", namespaced: true },
  { kind: "AuthorizationPolicy", plural: "authorizationpolicies", namespaced: true },
];

/** The label EndpointSlice controllers put on a slice: the name of its Kubernetes Service. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
