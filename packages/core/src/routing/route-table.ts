import { ServiceKeyed } from "../call/service-keyed.ts";
import type { MeshConfig } from "../gen/weft/v1/config_pb.js";
import type { HeaderMatch, PathMatch, Route, RouteMatch } from "../gen/weft/v1/route_pb.js";
import type { Service } from "../gen/weft/v1/service_pb.js";
import { type EffectivePolicies, effectivePolicies } from "./policies.ts";

/** What routing decided for a call. */
export interface RouteDecision {
  /** `namespace/name` of the matched route, or `default` when none matched. */
  readonly routeName: string;
  readonly route: Route | undefined;
  /** The service definition of the destination, when the configuration has one. */
  readonly service: Service | undefined;
  readonly destination: {
    readonly service: string;
    readonly namespace: string;
    readonly subset: Readonly<Record<string, string>>;
  };
  readonly policies: EffectivePolicies;
}

/** The parts of a call that routing looks at. */
export interface RoutableCall {
  readonly service: string;
  readonly namespace: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
}

type Matcher = (call: RoutableCall) => boolean;

interface CompiledRoute {
  route: Route;
  name: string;
  matchers: Matcher[];
  destinations: { service: string; namespace: string; subset: Record<string, string>; weight: number }[];
  totalWeight: number;
  decisions: RouteDecision[];
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * Matches calls to routes. Built once per configuration version: every regex is compiled
 * and every decision object made up front, so matching a call allocates nothing.
 */
export class RouteTable {
  readonly #config: MeshConfig;
  readonly #services = new Map<string, Service>();
  readonly #routes = new ServiceKeyed<CompiledRoute[]>();
  readonly #defaults = new ServiceKeyed<RouteDecision>();
  readonly #byRpcService = new Map<string, Service>();

  constructor(config: MeshConfig) {
    this.#config = config;
    for (const s of config.services) {
      this.#services.set(key(s.namespace, s.name), s);
      for (const rpc of s.rpcServices) this.#byRpcService.set(rpc, s);
    }
    const sorted = [...config.routes].sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
    for (const route of sorted) {
      const list = this.#routes.get(route.namespace, route.service) ?? [];
      list.push(this.#compile(route));
      this.#routes.set(route.namespace, route.service, list);
    }
  }

  /** The service definition, if the configuration has one. */
  service(namespace: string, name: string): Service | undefined {
    return this.#services.get(key(namespace, name));
  }

  /** The mesh service that serves an RPC service ("shop.v1.InventoryService"), per Service.rpc_services. */
  serviceForRpc(typeName: string): Service | undefined {
    return this.#byRpcService.get(typeName);
  }

  get config(): MeshConfig {
    return this.#config;
  }

  /** The first route (by priority, then name) that matches; the service default otherwise. */
  match(call: RoutableCall, random: () => number = Math.random): RouteDecision {
    const routes = this.#routes.get(call.namespace, call.service);
    if (routes) {
      for (const r of routes) {
        if (r.matchers.length > 0 && !r.matchers.some((m) => m(call))) continue;
        return pickDestination(r, random);
      }
    }
    let d = this.#defaults.get(call.namespace, call.service);
    if (!d) {
      const service = this.#services.get(key(call.namespace, call.service));
      d = {
        routeName: "default",
        route: undefined,
        service,
        destination: { service: call.service, namespace: call.namespace, subset: {} },
        policies: effectivePolicies(this.#config, service, undefined),
      };
      this.#defaults.set(call.namespace, call.service, d);
    }
    return d;
  }

  #compile(route: Route): CompiledRoute {
    const destinations = (
      route.destinations.length > 0 ? route.destinations : [{ service: route.service, subset: {}, weight: 1 }]
    ).map((d) => ({
      service: d.service,
      namespace: route.namespace,
      subset: { ...d.subset },
      weight: d.weight || 1,
    }));
    const name = key(route.namespace, route.name);
    const decisions = destinations.map((d) => {
      const service = this.#services.get(key(d.namespace, d.service));
      return {
        routeName: name,
        route,
        service,
        destination: d,
        policies: effectivePolicies(
          this.#config,
          service ?? this.#services.get(key(route.namespace, route.service)),
          route,
        ),
      };
    });
    return {
      route,
      name,
      matchers: route.matches.map(compileMatch),
      destinations,
      totalWeight: destinations.reduce((a, d) => a + d.weight, 0),
      decisions,
    };
  }
}

function pickDestination(r: CompiledRoute, random: () => number): RouteDecision {
  if (r.decisions.length === 1) return r.decisions[0] as RouteDecision;
  let x = random() * r.totalWeight;
  for (let i = 0; i < r.destinations.length; i++) {
    x -= (r.destinations[i] as { weight: number }).weight;
    if (x < 0) return r.decisions[i] as RouteDecision;
  }
  return r.decisions[r.decisions.length - 1] as RouteDecision;
}

function compileMatch(m: RouteMatch): Matcher {
  const parts: Matcher[] = [];
  if (m.method) {
    const method = m.method;
    if (method.endsWith("/*")) {
      const prefix = method.slice(0, -1);
      parts.push((c) => c.method.startsWith(prefix));
    } else parts.push((c) => c.method === method);
  }
  if (m.path) parts.push(compilePath(m.path));
  for (const h of m.headers) parts.push(compileHeader(h));
  return (c) => parts.every((p) => p(c));
}

function compilePath(p: PathMatch): Matcher {
  switch (p.kind.case) {
    case "exact": {
      const v = p.kind.value;
      return (c) => c.path === v;
    }
    case "prefix": {
      const v = p.kind.value;
      return (c) => c.path.startsWith(v);
    }
    case "regex": {
      const re = new RegExp(`^(?:${p.kind.value})$`);
      return (c) => re.test(c.path);
    }
    default:
      return () => true;
  }
}

function compileHeader(h: HeaderMatch): Matcher {
  const name = h.name.toLowerCase();
  let test: (v: string | null) => boolean;
  switch (h.kind.case) {
    case "exact": {
      const v = h.kind.value;
      test = (x) => x === v;
      break;
    }
    case "prefix": {
      const v = h.kind.value;
      test = (x) => x?.startsWith(v) === true;
      break;
    }
    case "regex": {
      const re = new RegExp(`^(?:${h.kind.value})$`);
      test = (x) => x !== null && re.test(x);
      break;
    }
    case "present": {
      const want = h.kind.value;
      test = (x) => (x !== null) === want;
      break;
    }
    default:
      test = (x) => x !== null;
  }
  return h.invert ? (c) => !test(c.headers.get(name)) : (c) => test(c.headers.get(name));
}
