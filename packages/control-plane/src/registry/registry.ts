import { create } from "@bufbuild/protobuf";
import type { Clock, TimerHandle } from "@weft/core";
import { type Endpoint, EndpointSchema, HealthStatus, type Registration } from "@weft/core/model";
import { serviceKey } from "../config/keys.ts";

/** The mesh inbound port an endpoint gets when its registration names none. */
export const DEFAULT_MESH_PORT = 15008;

export interface RegistryOptions {
  clock: Clock;
  /** How long an endpoint outlives the stream that registered it. */
  graceMs: number;
  /** Called with the services (`namespace/name`) whose registered endpoints changed. */
  onChange: (services: ReadonlySet<string>) => void;
}

interface Instance {
  service: string;
  endpoints: Endpoint[];
  /** The stream holding the lease; a newer stream for the same instance takes it over. */
  owner: object;
  expiry: TimerHandle | undefined;
}

/**
 * Endpoints that data planes registered. A registration is a lease held by its discovery
 * stream: when the stream ends, the endpoint stays for a grace period (a control-plane
 * restart or a network blip must not empty a service) and leaves unless the same instance
 * registers again in time.
 */
export class Registry {
  private readonly options: RegistryOptions;
  private readonly instances = new Map<string, Instance>();
  private readonly byService = new Map<string, Set<Instance>>();

  constructor(options: RegistryOptions) {
    this.options = options;
  }

  /** Takes (or renews) the lease of the registration's instance for `owner`. */
  register(reg: Registration, owner: object): string {
    const service = serviceKey(reg.namespace, reg.service);
    const key = `${service}#${reg.instanceId}`;
    const endpoints = endpointsOf(reg);
    const existing = this.instances.get(key);
    if (existing) {
      if (existing.expiry !== undefined) this.options.clock.clearTimeout(existing.expiry);
      existing.expiry = undefined;
      existing.owner = owner;
      if (!sameEndpoints(existing.endpoints, endpoints)) {
        existing.endpoints = endpoints;
        this.options.onChange(new Set([service]));
      }
      return key;
    }
    const instance: Instance = { service, endpoints, owner, expiry: undefined };
    this.instances.set(key, instance);
    let set = this.byService.get(service);
    if (!set) {
      set = new Set();
      this.byService.set(service, set);
    }
    set.add(instance);
    if (endpoints.length > 0) this.options.onChange(new Set([service]));
    return key;
  }

  /** The stream of `owner` ended: the instance leaves after the grace period. */
  release(key: string, owner: object): void {
    const instance = this.instances.get(key);
    if (!instance || instance.owner !== owner || instance.expiry !== undefined) return;
    instance.expiry = this.options.clock.setTimeout(() => this.remove(key), this.options.graceMs);
  }

  /** Registered endpoints of one service, in a stable order. */
  endpoints(service: string): Endpoint[] {
    const set = this.byService.get(service);
    if (!set) return [];
    const out: Endpoint[] = [];
    for (const i of set) out.push(...i.endpoints);
    return out.sort(compareEndpoints);
  }

  /** Services with at least one registered instance. */
  services(): string[] {
    return [...this.byService.keys()];
  }

  close(): void {
    for (const i of this.instances.values())
      if (i.expiry !== undefined) this.options.clock.clearTimeout(i.expiry);
    this.instances.clear();
    this.byService.clear();
  }

  private remove(key: string) {
    const instance = this.instances.get(key);
    if (!instance) return;
    this.instances.delete(key);
    const set = this.byService.get(instance.service);
    set?.delete(instance);
    if (set && set.size === 0) this.byService.delete(instance.service);
    if (instance.endpoints.length > 0) this.options.onChange(new Set([instance.service]));
  }
}

/** One endpoint per address the data plane listens on; none for a caller-only data plane. */
function endpointsOf(reg: Registration): Endpoint[] {
  return reg.addresses.map((address) =>
    create(EndpointSchema, {
      address,
      port: reg.port || DEFAULT_MESH_PORT,
      zone: reg.zone,
      labels: { ...reg.labels },
      health: HealthStatus.HEALTHY,
      instance: reg.instanceId,
    }),
  );
}

export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  return a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0;
}

function sameEndpoints(a: Endpoint[], b: Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((e, i) => {
    const o = b[i];
    return (
      o !== undefined &&
      e.address === o.address &&
      e.port === o.port &&
      e.zone === o.zone &&
      e.instance === o.instance &&
      JSON.stringify(e.labels) === JSON.stringify(o.labels)
    );
  });
}
