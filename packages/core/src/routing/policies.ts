import type { MeshConfig } from "../gen/weft/v1/config_pb.js";
import type { PluginRef } from "../gen/weft/v1/plugin_pb.js";
import type {
  CircuitBreaker,
  FaultInjection,
  HealthCheck,
  HedgingPolicy,
  LoadBalancer,
  OutlierDetection,
  RateLimit,
  RetryPolicy,
  TimeoutPolicy,
} from "../gen/weft/v1/policy_pb.js";
import type { Route } from "../gen/weft/v1/route_pb.js";
import type { Service } from "../gen/weft/v1/service_pb.js";

/**
 * The policies in force for one call: the route's where it sets one, else the service's,
 * else the mesh defaults. A policy message replaces the one below it whole (as in Istio and
 * Envoy), so what a route says is all that applies, never a blend of two levels.
 */
export interface EffectivePolicies {
  timeout: TimeoutPolicy | undefined;
  retry: RetryPolicy | undefined;
  hedging: HedgingPolicy | undefined;
  fault: FaultInjection | undefined;
  loadBalancer: LoadBalancer | undefined;
  outlierDetection: OutlierDetection | undefined;
  circuitBreaker: CircuitBreaker | undefined;
  rateLimit: RateLimit | undefined;
  healthCheck: HealthCheck | undefined;
  /** Service plugins, then route plugins, in order. */
  plugins: PluginRef[];
}

export function effectivePolicies(
  config: MeshConfig,
  service: Service | undefined,
  route: Route | undefined,
): EffectivePolicies {
  const d = config.mesh?.defaults;
  const s = service?.policies;
  return {
    timeout: route?.timeout ?? s?.timeout ?? d?.timeout,
    retry: route?.retry ?? s?.retry ?? d?.retry,
    hedging: route?.hedging ?? s?.hedging,
    fault: route?.fault ?? s?.fault,
    loadBalancer: s?.loadBalancer ?? d?.loadBalancer,
    outlierDetection: s?.outlierDetection ?? d?.outlierDetection,
    circuitBreaker: s?.circuitBreaker ?? d?.circuitBreaker,
    rateLimit: s?.rateLimit,
    healthCheck: s?.healthCheck,
    plugins: [...(service?.plugins ?? []), ...(route?.plugins ?? [])],
  };
}
