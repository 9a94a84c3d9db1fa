import type { EndpointRef } from "../call/call.ts";
import { type Endpoint, HealthStatus } from "../gen/weft/v1/endpoint_pb.js";

/** An endpoint as configuration or discovery announces it. */
export interface EndpointInit {
  readonly address: string;
  readonly port: number;
  readonly zone?: string;
  /** Relative share of traffic; 0 or absent means 1. */
  readonly weight?: number;
  readonly labels?: Readonly<Record<string, string>>;
  /** SPIFFE ID the endpoint must present; empty when the service's identity applies. */
  readonly identity?: string;
  /** Discovery says the endpoint is failing (it is then not picked outside panic mode). */
  readonly unhealthy?: boolean;
  /** Discovery says the endpoint is leaving: calls in flight finish, no new ones are sent. */
  readonly draining?: boolean;
}

/** The key of an endpoint within its service: `address:port` (IPv6 addresses in brackets). */
export function endpointKey(address: string, port: number): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** An endpoint announced by the control plane, as an EndpointInit. */
export function endpointInitFromProto(ep: Endpoint): EndpointInit {
  return {
    address: ep.address,
    port: ep.port,
    zone: ep.zone,
    weight: ep.weight,
    labels: ep.labels,
    identity: ep.identity,
    unhealthy: ep.health === HealthStatus.UNHEALTHY,
    draining: ep.health === HealthStatus.DRAINING,
  };
}

/**
 * The live state of one endpoint, shared by the balancers, outlier detection and health
 * checks. It is an EndpointRef itself so a balancer can return it as the pick; `ref` is the
 * immutable copy put on calls, so no step can reach into this state through a call.
 */
export class EndpointState implements EndpointRef {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly identity: string;
  zone: string;
  weight: number;
  labels: Readonly<Record<string, string>>;
  /** Calls started and not yet settled. */
  inFlight = 0;
  /** Peak-EWMA of latency (ms) as of `ewmaStamp`; see peak-ewma.ts. */
  ewmaMs: number;
  ewmaStamp: number;
  /** False until a latency has been observed: new endpoints are penalised while busy. */
  sampled = false;
  /** Verdict of active health checks. */
  healthy = true;
  /** Verdict of discovery (HealthStatus.UNHEALTHY). */
  discoveredUnhealthy: boolean;
  /** Outlier detection: not picked until this time on the set's clock; 0 when not ejected. */
  ejectedUntil = 0;
  /** Removed from the service, or announced as draining: not picked, calls in flight finish. */
  draining: boolean;

  constructor(init: EndpointInit, now: number, defaultRttMs: number) {
    this.address = init.address;
    this.port = init.port;
    this.key = endpointKey(init.address, init.port);
    this.identity = init.identity ?? "";
    this.zone = init.zone ?? "";
    this.weight = normalWeight(init.weight);
    this.labels = init.labels ?? {};
    this.discoveredUnhealthy = init.unhealthy ?? false;
    this.draining = init.draining ?? false;
    this.ewmaMs = defaultRttMs;
    this.ewmaStamp = now;
    this.#ref = this.#freeze();
  }

  #ref: EndpointRef;

  /** The immutable EndpointRef put on calls. */
  get ref(): EndpointRef {
    return this.#ref;
  }

  #freeze(): EndpointRef {
    return Object.freeze({
      key: this.key,
      address: this.address,
      port: this.port,
      zone: this.zone,
      identity: this.identity,
    });
  }

  /** Takes what discovery says now; returns true when eligibility or weight changed. */
  refresh(init: EndpointInit): boolean {
    const weight = normalWeight(init.weight);
    const unhealthy = init.unhealthy ?? false;
    const draining = init.draining ?? false;
    const changed =
      weight !== this.weight ||
      unhealthy !== this.discoveredUnhealthy ||
      draining !== this.draining ||
      (init.zone ?? "") !== this.zone;
    this.weight = weight;
    this.discoveredUnhealthy = unhealthy;
    this.draining = draining;
    this.labels = init.labels ?? {};
    if ((init.zone ?? "") !== this.zone) {
      this.zone = init.zone ?? "";
      this.#ref = this.#freeze();
    }
    return changed;
  }

  get ejected(): boolean {
    return this.ejectedUntil !== 0;
  }

  /** May take new calls outside panic mode. */
  get eligible(): boolean {
    return !this.draining && this.healthy && !this.discoveredUnhealthy && this.ejectedUntil === 0;
  }
}

function normalWeight(weight: number | undefined): number {
  return weight !== undefined && weight > 0 && Number.isFinite(weight) ? weight : 1;
}
