import { equals } from "@bufbuild/protobuf";
import type { Clock } from "../clock/clock.ts";
import { EndpointRegistry } from "../endpoints/directory.ts";
import { type EndpointObserver, EndpointSet } from "../endpoints/endpoint-set.ts";
import type { ServiceEndpoints } from "../gen/weft/v1/endpoint_pb.js";
import {
  type HealthCheck,
  HealthCheckSchema,
  type OutlierDetection,
  OutlierDetectionSchema,
} from "../gen/weft/v1/policy_pb.js";
import { HealthChecker, type Probe } from "../health/health-checker.ts";
import { healthCheckOptionsFromProto } from "../health/options.ts";
import { outlierOptionsFromProto } from "../outlier/options.ts";
import { type Ejection, OutlierDetector } from "../outlier/outlier-detector.ts";

/** Makes the active health probe of a service; the data-plane shape knows the sockets. */
export type ProbeFactory = (check: HealthCheck, service: string, namespace: string) => Probe | undefined;

/** The passive and active health policies of one destination service. */
export interface HealthPolicies {
  readonly outlierDetection: OutlierDetection | undefined;
  readonly healthCheck: HealthCheck | undefined;
}

interface Guards {
  outlierPolicy: OutlierDetection | undefined;
  healthPolicy: HealthCheck | undefined;
  outlier: OutlierDetector | undefined;
  health: HealthChecker | undefined;
}

const key = (namespace: string, service: string) => `${namespace}/${service}`;

/**
 * The endpoints of every service a data plane calls, with the outlier detector and health
 * checker that watch each set. Endpoints come from configuration and discovery; the
 * guards follow the service's policies and are rebuilt only when those change.
 */
export class Destinations {
  readonly registry = new EndpointRegistry();
  readonly #clock: Clock;
  readonly #probeFactory: ProbeFactory | undefined;
  readonly #onEjection: ((e: Ejection, set: EndpointSet) => void) | undefined;
  readonly #guards = new Map<string, Guards>();
  readonly #observer: EndpointObserver | undefined;

  constructor(
    clock: Clock,
    probeFactory?: ProbeFactory,
    onEjection?: (e: Ejection, set: EndpointSet) => void,
    observer?: EndpointObserver,
  ) {
    this.#clock = clock;
    this.#probeFactory = probeFactory;
    this.#onEjection = onEjection;
    this.#observer = observer;
  }

  /** Replaces the endpoints of one service (an endpoint removed with calls in flight drains). */
  setEndpoints(endpoints: ServiceEndpoints): EndpointSet {
    const namespace = endpoints.namespace || "default";
    let set = this.registry.get(endpoints.service, namespace);
    if (!set) {
      set = new EndpointSet({ service: endpoints.service, namespace, clock: this.#clock });
      if (this.#observer) set.observe(this.#observer);
      this.registry.set(set);
    }
    set.updateFromProto(endpoints);
    return set;
  }

  removeService(service: string, namespace: string): void {
    this.#stopGuards(key(namespace, service));
    this.registry.delete(service, namespace);
  }

  /** Sets the health policies of each known destination; `policiesOf` gives them per service. */
  applyPolicies(policiesOf: (service: string, namespace: string) => HealthPolicies): void {
    for (const set of this.registry.values()) {
      const k = key(set.namespace, set.service);
      const want = policiesOf(set.service, set.namespace);
      const g = this.#guards.get(k) ?? {
        outlierPolicy: undefined,
        healthPolicy: undefined,
        outlier: undefined,
        health: undefined,
      };
      if (!same(OutlierDetectionSchema, g.outlierPolicy, want.outlierDetection)) {
        g.outlier?.close();
        g.outlierPolicy = want.outlierDetection;
        g.outlier = want.outlierDetection
          ? new OutlierDetector(set, outlierOptionsFromProto(want.outlierDetection), (e) =>
              this.#onEjection?.(e, set),
            )
          : undefined;
      }
      if (!same(HealthCheckSchema, g.healthPolicy, want.healthCheck)) {
        void g.health?.stop();
        g.healthPolicy = want.healthCheck;
        const probe = want.healthCheck
          ? this.#probeFactory?.(want.healthCheck, set.service, set.namespace)
          : undefined;
        g.health =
          want.healthCheck && probe
            ? new HealthChecker(set, probe, healthCheckOptionsFromProto(want.healthCheck))
            : undefined;
        g.health?.start();
      }
      this.#guards.set(k, g);
    }
  }

  close(): void {
    for (const k of [...this.#guards.keys()]) this.#stopGuards(k);
    for (const set of [...this.registry.values()]) this.registry.delete(set.service, set.namespace);
  }

  #stopGuards(k: string): void {
    const g = this.#guards.get(k);
    g?.outlier?.close();
    void g?.health?.stop();
    this.#guards.delete(k);
  }
}

function same<T extends OutlierDetection | HealthCheck>(
  schema: typeof OutlierDetectionSchema | typeof HealthCheckSchema,
  a: T | undefined,
  b: T | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return equals(schema as never, a as never, b as never);
}
