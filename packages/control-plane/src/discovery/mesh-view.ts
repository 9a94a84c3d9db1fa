import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type Endpoint,
  type EndpointDelta,
  EndpointDeltaSchema,
  type MeshConfig,
  MeshConfigSchema,
  type ServiceEndpoints,
  ServiceEndpointsSchema,
  type Snapshot,
  SnapshotSchema,
} from "@weft/core/model";
import { serviceKey } from "../config/keys.ts";
import { compareEndpoints, type Registry } from "../registry/registry.ts";
import { type ScopeRequest, scopeConfig } from "./scope.ts";

/** Everything one scope of data planes should hold now, and how to send it. */
export interface ScopeState {
  /** Content hash of the scoped config and endpoints: equal hash, nothing to send. */
  readonly hash: string;
  /** `<config revision>-<hash>`: what data planes report and `weft status` shows. */
  readonly version: string;
  readonly configHash: string;
  /** Endpoint-set hash per service (`namespace/name`) that has endpoints. */
  readonly endpointHashes: ReadonlyMap<string, string>;
  snapshot(): Snapshot;
  /** The endpoint changes from a data plane holding `from` to this state. */
  delta(from: ReadonlyMap<string, string>): EndpointDelta;
}

interface EndpointSet {
  set: ServiceEndpoints;
  hash: string;
}

interface ScopeEntry {
  users: number;
  configStamp: number;
  config: MeshConfig;
  configHash: string;
  services: ReadonlySet<string> | undefined;
  stamp: number;
  state: ScopeState | undefined;
}

/**
 * The configuration in force merged with the registry, as each scope of data planes sees
 * it. Computed lazily and cached: a thousand data planes of a few scopes cost a few
 * computations per change, not a thousand.
 */
export class MeshView {
  private readonly registry: Registry;
  private revision = 0;
  private config: MeshConfig = create(MeshConfigSchema);
  private staticEndpoints = new Map<string, Endpoint[]>();
  /** Bumps on every change; a cached scope state from an older stamp is stale. */
  private stamp = 0;
  private configStamp = 0;
  private readonly endpointCache = new Map<string, EndpointSet | null>();
  private readonly scopes = new Map<string, ScopeEntry>();

  constructor(registry: Registry) {
    this.registry = registry;
  }

  get configRevision(): number {
    return this.revision;
  }

  get meshConfig(): MeshConfig {
    return this.config;
  }

  setConfig(revision: number, config: MeshConfig): void {
    this.revision = revision;
    this.config = config;
    this.staticEndpoints = new Map();
    for (const se of config.endpoints) {
      const key = serviceKey(se.namespace, se.service);
      this.staticEndpoints.set(key, [...(this.staticEndpoints.get(key) ?? []), ...se.endpoints]);
    }
    this.endpointCache.clear();
    this.stamp++;
    this.configStamp++;
  }

  endpointsChanged(services: Iterable<string>): void {
    for (const s of services) this.endpointCache.delete(s);
    this.stamp++;
  }

  /** Static and registered endpoints of one service; a registered one wins on the same address:port. */
  endpointSet(service: string): ServiceEndpoints | undefined {
    return this.cachedSet(service)?.set;
  }

  /** Every service (`namespace/name`) that has endpoints, sorted. */
  servicesWithEndpoints(): string[] {
    const all = new Set([...this.staticEndpoints.keys(), ...this.registry.services()]);
    return [...all].filter((s) => this.cachedSet(s) !== undefined).sort();
  }

  acquire(scope: ScopeRequest): void {
    const entry = this.scopes.get(scope.key);
    if (entry) entry.users++;
    else
      this.scopes.set(scope.key, {
        users: 1,
        configStamp: -1,
        config: this.config,
        configHash: "",
        services: undefined,
        stamp: -1,
        state: undefined,
      });
  }

  release(scope: ScopeRequest): void {
    const entry = this.scopes.get(scope.key);
    if (entry && --entry.users <= 0) this.scopes.delete(scope.key);
  }

  /** The state data planes of `scope` should hold now (acquire the scope first). */
  state(scope: ScopeRequest): ScopeState {
    const entry = this.scopes.get(scope.key);
    if (!entry) throw new Error(`scope ${scope.key} was not acquired`);
    if (entry.configStamp !== this.configStamp) {
      const scoped = scopeConfig(this.config, scope);
      entry.config = scoped.config;
      entry.services = scoped.services;
      entry.configHash = digest(toBinary(MeshConfigSchema, scoped.config));
      entry.configStamp = this.configStamp;
    }
    if (entry.stamp !== this.stamp || !entry.state) {
      entry.state = this.computeState(entry);
      entry.stamp = this.stamp;
    }
    return entry.state;
  }

  /** Whether a change to `services` (or to the config) can matter to `scope`. */
  touches(scope: ScopeRequest, services: ReadonlySet<string>): boolean {
    const entry = this.scopes.get(scope.key);
    if (!entry || entry.services === undefined) return true;
    for (const s of services) if (entry.services.has(s)) return true;
    return false;
  }

  private computeState(entry: ScopeEntry): ScopeState {
    const names = entry.services ? [...entry.services].sort() : this.servicesWithEndpoints();
    const sets: ServiceEndpoints[] = [];
    const hashes = new Map<string, string>();
    const h = createHash("sha256").update(entry.configHash);
    for (const name of names) {
      const cached = this.cachedSet(name);
      if (!cached) continue;
      sets.push(cached.set);
      hashes.set(name, cached.hash);
      h.update(`|${name}=${cached.hash}`);
    }
    const hash = h.digest("hex").slice(0, 12);
    const config = entry.config;
    let snapshot: Snapshot | undefined;
    return {
      hash,
      version: `${this.revision}-${hash}`,
      configHash: entry.configHash,
      endpointHashes: hashes,
      snapshot: () => {
        snapshot ??= create(SnapshotSchema, {
          config: create(MeshConfigSchema, { ...config, endpoints: sets }),
        });
        return snapshot;
      },
      delta: (from) => {
        const delta = create(EndpointDeltaSchema);
        for (const set of sets) {
          const key = serviceKey(set.namespace, set.service);
          if (from.get(key) !== hashes.get(key)) delta.updated.push(set);
        }
        for (const key of from.keys()) if (!hashes.has(key)) delta.removedServices.push(key);
        return delta;
      },
    };
  }

  private cachedSet(service: string): EndpointSet | undefined {
    const hit = this.endpointCache.get(service);
    if (hit !== undefined) return hit ?? undefined;
    const merged = new Map<string, Endpoint>();
    for (const e of this.staticEndpoints.get(service) ?? []) merged.set(`${e.address}:${e.port}`, e);
    for (const e of this.registry.endpoints(service)) merged.set(`${e.address}:${e.port}`, e);
    if (merged.size === 0) {
      this.endpointCache.set(service, null);
      return undefined;
    }
    const slash = service.indexOf("/");
    const set = create(ServiceEndpointsSchema, {
      namespace: service.slice(0, slash),
      service: service.slice(slash + 1),
      endpoints: [...merged.values()].sort(compareEndpoints),
    });
    const entry = { set, hash: digest(toBinary(ServiceEndpointsSchema, set)) };
    this.endpointCache.set(service, entry);
    return entry;
  }
}

function digest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}
