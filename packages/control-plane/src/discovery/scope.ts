import { create } from "@bufbuild/protobuf";
import { DEFAULT_NAMESPACE } from "@weft/core";
import { type MeshConfig, MeshConfigSchema, type Registration } from "@weft/core/model";
import { resolveServiceRef, serviceKey } from "../config/keys.ts";

/** What one data plane needs to know about, derived from its registration. */
export interface ScopeRequest {
  /** Same key, same scope: data planes sharing it share computed snapshots. */
  readonly key: string;
  /** The data plane's own service, `namespace/name`. */
  readonly own: string;
  readonly namespace: string;
  readonly name: string;
  /** Services (`namespace/name`) it calls; undefined means every service. */
  readonly dependencies: ReadonlySet<string> | undefined;
}

export function scopeRequestOf(reg: Registration): ScopeRequest {
  const namespace = reg.namespace || DEFAULT_NAMESPACE;
  const own = serviceKey(namespace, reg.service);
  if (reg.dependencies.length === 0)
    return { key: `${own}|*`, own, namespace, name: reg.service, dependencies: undefined };
  const deps = new Set(reg.dependencies.map((d) => resolveServiceRef(d, namespace)));
  return {
    key: `${own}|${[...deps].sort().join(",")}`,
    own,
    namespace,
    name: reg.service,
    dependencies: deps,
  };
}

/**
 * The part of `config` a data plane needs: its own service and its dependencies, the routes
 * of those services and the services those routes send to (a canary is a dependency too),
 * the authorization policies selecting its own service, and the mesh defaults. Static
 * endpoints are left out: the snapshot carries them merged with registered ones.
 * Returns the scoped config and the services whose endpoints it needs (undefined: all).
 */
export function scopeConfig(
  config: MeshConfig,
  scope: ScopeRequest,
): { config: MeshConfig; services: ReadonlySet<string> | undefined } {
  if (scope.dependencies === undefined) {
    const all = create(MeshConfigSchema, {
      services: config.services,
      routes: config.routes,
      authorizationPolicies: config.authorizationPolicies,
    });
    if (config.mesh) all.mesh = config.mesh;
    return { config: all, services: undefined };
  }
  const services = new Set<string>([scope.own, ...scope.dependencies]);
  const routes = config.routes.filter((r) => services.has(serviceKey(r.namespace, r.service)));
  for (const r of routes) for (const d of r.destinations) services.add(serviceKey(r.namespace, d.service));
  const out = create(MeshConfigSchema, {
    services: config.services.filter((s) => services.has(serviceKey(s.namespace, s.name))),
    routes,
    authorizationPolicies: config.authorizationPolicies.filter(
      (p) =>
        (p.namespace || DEFAULT_NAMESPACE) === scope.namespace &&
        (p.services.length === 0 || p.services.includes(scope.name)),
    ),
  });
  if (config.mesh) out.mesh = config.mesh;
  return { config: out, services };
}
