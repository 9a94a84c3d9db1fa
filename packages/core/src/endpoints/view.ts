import type { EndpointState } from "./endpoint-state.ts";

/** How the eligible endpoints of a set are chosen: panic threshold and zone preference. */
export interface ViewPolicy {
  /**
   * When fewer than this percent of the endpoints are healthy, all endpoints are used (Envoy's
   * panic mode: spreading load over sick endpoints beats crushing the few healthy ones).
   * 0 turns panic mode off.
   */
  readonly panicThresholdPercent: number;
  /** Prefer endpoints in `localZone` while enough of them are healthy. */
  readonly zoneAware: boolean;
  /** The caller's zone; zone-aware routing is off when empty. */
  readonly localZone: string;
}

export const defaultViewPolicy: ViewPolicy = Object.freeze({
  panicThresholdPercent: 50,
  zoneAware: false,
  localZone: "",
});

/**
 * The endpoints a balancer picks from, computed once per change of the set and shared by
 * every pick until the next change. Balancers key their precomputed tables on the view's
 * identity.
 */
export interface EndpointView {
  /** Endpoints to pick from, in the set's order. Empty when nothing can take calls. */
  readonly endpoints: readonly EndpointState[];
  /** True when every weight is the same (balancers then take cheaper paths). */
  readonly uniformWeights: boolean;
  readonly totalWeight: number;
  /** Panic mode: too few healthy endpoints, so all of them are in `endpoints`. */
  readonly panic: boolean;
  /** The zone the view is restricted to, or "" when it spans zones. */
  readonly zone: string;
  /** Endpoints of the service that are not draining. */
  readonly members: number;
  /** Of the members: ejected by outlier detection. */
  readonly ejected: number;
  /** Of the members: failing active health checks or reported unhealthy by discovery. */
  readonly unhealthy: number;
  /** Removed or announced as leaving, with calls still in flight. */
  readonly draining: number;
}

/** Computes the view of `all` (the set's endpoints, draining ones included) under `policy`. */
export function computeView(all: readonly EndpointState[], policy: ViewPolicy): EndpointView {
  const members: EndpointState[] = [];
  const healthy: EndpointState[] = [];
  let ejected = 0;
  let unhealthy = 0;
  let draining = 0;
  for (const ep of all) {
    if (ep.draining) {
      draining++;
      continue;
    }
    members.push(ep);
    if (ep.ejected) ejected++;
    if (!ep.healthy || ep.discoveredUnhealthy) unhealthy++;
    if (ep.eligible) healthy.push(ep);
  }
  const threshold = policy.panicThresholdPercent;
  const counts = { members: members.length, ejected, unhealthy, draining };

  if (policy.zoneAware && policy.localZone !== "") {
    let local = 0;
    const localHealthy: EndpointState[] = [];
    for (const ep of members) {
      if (ep.zone !== policy.localZone) continue;
      local++;
      if (ep.eligible) localHealthy.push(ep);
    }
    // The local zone keeps the traffic while it is healthy by the same measure that keeps a
    // whole service out of panic mode; below that, calls fail over to every zone.
    if (localHealthy.length > 0 && localHealthy.length * 100 >= threshold * local) {
      return makeView(localHealthy, false, policy.localZone, counts);
    }
  }
  const panic = threshold > 0 && members.length > 0 && healthy.length * 100 < threshold * members.length;
  return makeView(panic ? members : healthy, panic, "", counts);
}

function makeView(
  endpoints: EndpointState[],
  panic: boolean,
  zone: string,
  counts: { members: number; ejected: number; unhealthy: number; draining: number },
): EndpointView {
  let totalWeight = 0;
  let uniformWeights = true;
  const first = endpoints[0]?.weight;
  for (const ep of endpoints) {
    totalWeight += ep.weight;
    if (ep.weight !== first) uniformWeights = false;
  }
  return Object.freeze({ endpoints, uniformWeights, totalWeight, panic, zone, ...counts });
}
