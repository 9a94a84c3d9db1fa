import { create } from "@bufbuild/protobuf";
import { DEFAULT_NAMESPACE } from "@weft/core";
import {
  type Endpoint,
  EndpointSchema,
  HealthStatus,
  type ServiceEndpoints,
  ServiceEndpointsSchema,
} from "@weft/core/model";
import { compareEndpoints, DEFAULT_MESH_PORT } from "../registry/registry.ts";
import { SERVICE_NAME_LABEL } from "./resources.ts";

/** The fields of a discovery.k8s.io/v1 EndpointSlice this mapping reads (raw JSON or client-node's V1EndpointSlice). */
export interface EndpointSliceLike {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly addressType?: string;
  readonly ports?: readonly { readonly name?: string; readonly port?: number }[] | null;
  readonly endpoints?:
    | readonly {
        readonly addresses?: readonly string[];
        readonly conditions?: {
          readonly ready?: boolean;
          readonly serving?: boolean;
          readonly terminating?: boolean;
        };
        readonly zone?: string;
        readonly nodeName?: string;
        readonly targetRef?: { readonly kind?: string; readonly name?: string };
      }[]
    | null;
}

export interface SliceMappingOptions {
  /** A slice port of this name is the mesh inbound port (default "weft"). */
  readonly meshPortName?: string;
}

/**
 * Weft endpoint sets from EndpointSlices, one set per Kubernetes Service (slices are grouped
 * by their kubernetes.io/service-name label; slices without it are not a Service's).
 *
 * The port is where the pod's mesh member listens: a slice port named `meshPortName`, else
 * one numbered 15008, else 15008 itself. A Service's ports are the application's, which the
 * mesh does not dial: the data plane beside (or inside) the application does.
 *
 * Health follows the conditions: terminating -> DRAINING (calls in flight finish, no new
 * ones), ready false -> UNHEALTHY, ready true or unset -> HEALTHY (Kubernetes: "nil should
 * be interpreted as ready"). The first address is used; Kubernetes calls them fungible.
 */
export function endpointsFromSlices(
  slices: Iterable<EndpointSliceLike>,
  options: SliceMappingOptions = {},
): ServiceEndpoints[] {
  const meshPortName = options.meshPortName ?? "weft";
  const byService = new Map<string, Map<string, Endpoint>>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!service) continue;
    const namespace = slice.metadata?.namespace || DEFAULT_NAMESPACE;
    const ports = slice.ports ?? [];
    const port =
      ports.find((p) => p.name === meshPortName)?.port ??
      ports.find((p) => p.port === DEFAULT_MESH_PORT)?.port ??
      DEFAULT_MESH_PORT;
    const key = `${namespace}/${service}`;
    let set = byService.get(key);
    if (!set) {
      set = new Map();
      byService.set(key, set);
    }
    for (const e of slice.endpoints ?? []) {
      const address = e.addresses?.[0];
      if (!address) continue;
      const c = e.conditions ?? {};
      const health =
        c.terminating === true
          ? HealthStatus.DRAINING
          : c.ready === false
            ? HealthStatus.UNHEALTHY
            : HealthStatus.HEALTHY;
      const endpoint = create(EndpointSchema, {
        address,
        port,
        zone: e.zone ?? "",
        health,
        instance: e.targetRef?.name ?? "",
      });
      if (e.nodeName) endpoint.labels["kubernetes.io/hostname"] = e.nodeName;
      // While a slice is being split or merged an address can be in two slices at once; one
      // endpoint per address:port, the healthier view winning.
      const id = `${address}:${port}`;
      const seen = set.get(id);
      if (!seen || (seen.health !== HealthStatus.HEALTHY && health === HealthStatus.HEALTHY))
        set.set(id, endpoint);
    }
  }
  return [...byService.entries()]
    .filter(([, set]) => set.size > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, set]) => {
      const slash = key.indexOf("/");
      return create(ServiceEndpointsSchema, {
        namespace: key.slice(0, slash),
        service: key.slice(slash + 1),
        endpoints: [...set.values()].sort(compareEndpoints),
      });
    });
}
