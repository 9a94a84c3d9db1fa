import { type JsonValue, toJson } from "@bufbuild/protobuf";
import {
  AuthorizationEngine,
  AuthorizationPolicyError,
  circuitBreakerPlugin,
  DEFAULT_NAMESPACE,
  DEFAULT_TRUST_DOMAIN,
  type EffectivePolicies,
  faultPlugin,
  formatIssue,
  hedgingPlugin,
  type PeerIdentity,
  type Place,
  peerIdentity,
  perTryTimeoutPlugin,
  policyKey,
  ResilienceState,
  type RouteDecision,
  RouteTable,
  rateLimitPlugin,
  resilienceSteps,
  retryPlugin,
  silentLogger,
  systemClock,
  timeoutPlugin,
} from "@weft/core";
import {
  AuthorizationRuleSchema,
  HealthStatus,
  type MeshConfig,
  Mode,
  type RouteMatch,
  type Service,
  type ServiceEndpoints,
} from "@weft/core/model";
import {
  describeBalancer,
  describeCircuitBreaker,
  describeFault,
  describeHealthCheck,
  describeHedging,
  describeOutlierDetection,
  describePlugin,
  describeRateLimit,
  describeRetry,
  describeTimeout,
  formatMs,
} from "./describe.ts";

/** The call to dry-run. */
export interface ExplainRequest {
  /** The calling service: `name` or `namespace/name`. */
  readonly from: string;
  /**
   * The called service: `name` (in the caller's namespace) or `namespace/name`. May be left
   * out for an RPC method whose service a Service lists in `rpcServices`.
   */
  readonly to?: string;
  /** An RPC method `package.Service/Method`, or an HTTP path starting with `/`. */
  readonly target: string;
  /** HTTP method; default POST for an RPC, GET for a path. */
  readonly httpMethod?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One step of a chain as it will run, and which level of the configuration set it. */
export interface ExplainedStep {
  readonly step: string;
  /** `route ns/name`, `service ns/name`, `mesh defaults` or `built-in`. */
  readonly from: string;
  readonly settings: string;
}

export interface ExplainedAuthorization {
  readonly allowed: boolean;
  /** The deciding policy (several, comma-separated, for a default deny); "" when none selects the service. */
  readonly policy: string;
  /** Index of the deciding rule in its policy; -1 when no rule decided. */
  readonly ruleIndex: number;
  readonly reason: string;
  /** The deciding rule in its protobuf JSON form. */
  readonly rule?: JsonValue;
}

export interface ExplainedDestination {
  readonly service: string;
  readonly namespace: string;
  /** Whether the configuration has a Service of that name. */
  readonly defined: boolean;
  readonly subset: Readonly<Record<string, string>>;
  /** Share of the route's calls sent here, 0..1. */
  readonly share: number;
  /** The SPIFFE ID the destination must present. */
  readonly identity: string;
  /** The caller's outbound chain, in order, ending with the balancer's pick. */
  readonly outbound: readonly ExplainedStep[];
  /** Policies that decide which endpoints may be picked (not steps of the chain). */
  readonly endpointHealth: readonly ExplainedStep[];
  /** The destination's inbound chain, in order, before its application. */
  readonly inbound: readonly ExplainedStep[];
  readonly authorization: ExplainedAuthorization;
  readonly endpoints: { readonly total: number; readonly healthy: number; readonly zones: readonly string[] };
}

/** What the mesh would do with one call, worked out with the data plane's own code. */
export interface Explanation {
  readonly caller: {
    readonly service: string;
    readonly namespace: string;
    readonly defined: boolean;
    readonly identity: string;
    readonly place: Place;
  };
  readonly call: {
    readonly service: string;
    readonly namespace: string;
    readonly method: string;
    readonly path: string;
    readonly httpMethod: string;
    readonly headers: Readonly<Record<string, string>>;
  };
  readonly route: { readonly name: string; readonly priority: number; readonly matches: readonly string[] };
  /** One per destination of the route (a weighted split has several). */
  readonly destinations: readonly ExplainedDestination[];
  /** Every destination's authorization allows the call. */
  readonly allowed: boolean;
  readonly notes: readonly string[];
}

/** The request or the configuration does not allow an explanation; the message says why. */
export class ExplainError extends Error {
  override readonly name = "ExplainError";
}

const RPC_METHOD = /^[^/\s]+\/[^/\s]+$/;

/** Steps DataPlane runs per attempt; user plugins go before the first of them. */
const PER_ATTEMPT = new Set([
  retryPlugin.name,
  hedgingPlugin.name,
  circuitBreakerPlugin.name,
  perTryTimeoutPlugin.name,
]);

/**
 * Dry-runs a call against a configuration with core's code: RouteTable.match picks the
 * route and destination, effectivePolicies (through the decision) the policies,
 * resilienceSteps which of them become steps and in what order, and AuthorizationEngine
 * the verdict at the destination for the caller's SPIFFE identity. Nothing is sent.
 *
 * `endpoints` are the endpoint sets to count (default: the static ones in `config`).
 */
export function explainCall(
  config: MeshConfig,
  request: ExplainRequest,
  endpoints: readonly ServiceEndpoints[] = config.endpoints,
): Explanation {
  const notes: string[] = [];
  const table = new RouteTable(config);
  let engine: AuthorizationEngine;
  try {
    engine = AuthorizationEngine.compile(config.authorizationPolicies);
  } catch (e) {
    if (e instanceof AuthorizationPolicyError)
      throw new ExplainError(
        `the configuration's authorization policies cannot be loaded (data planes refuse it): ${e.issues.map(formatIssue).join("; ")}`,
      );
    throw e;
  }
  const trustDomain = config.mesh?.trustDomain || DEFAULT_TRUST_DOMAIN;

  const caller = findService(config, request.from, undefined, "--from");
  const callerSa = caller.service?.serviceAccount || caller.name;
  const source = peerIdentity(trustDomain, caller.namespace, callerSa);
  if (!caller.service)
    notes.push(
      `${caller.namespace}/${caller.name} is not a Service in the configuration; its identity is taken to be ${source.spiffeId}`,
    );
  const callerPlace: Place = caller.service?.mode === Mode.INPROCESS ? "client" : "sidecar-outbound";
  if (callerPlace === "client")
    notes.push(
      "the caller runs in-process: where the route sets no timeout, retry or hedging, per-method defaults generated from its .proto take precedence over service and mesh policies",
    );

  const target = request.target.trim();
  const isPath = target.startsWith("/");
  if (!isPath && !RPC_METHOD.test(target))
    throw new ExplainError(
      `"${request.target}" is neither an RPC method (package.Service/Method) nor an HTTP path (/...)`,
    );
  const method = isPath ? "" : target;
  const path = isPath ? target : `/${target}`;
  const httpMethod = (request.httpMethod ?? (isPath ? "GET" : "POST")).toUpperCase();
  const headers = new Headers(request.headers);

  let to: ResolvedService;
  if (request.to !== undefined) to = findService(config, request.to, caller.namespace, "--to");
  else {
    const rpcService = method.slice(0, method.indexOf("/"));
    const owner = method ? table.serviceForRpc(rpcService) : undefined;
    if (!owner)
      throw new ExplainError(
        method
          ? `--to is needed: no Service lists "${rpcService}" in rpcServices`
          : "--to is needed for an HTTP path",
      );
    to = { name: owner.name, namespace: owner.namespace || DEFAULT_NAMESPACE, service: owner };
  }
  if (!to.service) notes.push(`${to.namespace}/${to.name} is not a Service in the configuration`);

  const call = { service: to.name, namespace: to.namespace, method, path, headers };
  const decisions = decisionsFor(table, call);
  const first = decisions[0]?.decision as RouteDecision;
  const destinations = decisions.map(({ decision, share }) =>
    explainDestination(config, table, engine, decision, share, {
      trustDomain,
      source,
      callerPlace,
      caller,
      call: { ...call, httpMethod },
      endpoints,
    }),
  );
  if (destinations.some((d) => d.outbound.some((s) => s.step === faultPlugin.name)))
    notes.push(
      "fault injection is configured: the share of calls it delays or fails is drawn at random per call",
    );
  return {
    caller: {
      service: caller.name,
      namespace: caller.namespace,
      defined: caller.service !== undefined,
      identity: source.spiffeId,
      place: callerPlace,
    },
    call: {
      service: to.name,
      namespace: to.namespace,
      method,
      path,
      httpMethod,
      headers: Object.fromEntries(headers),
    },
    route: {
      name: first.routeName,
      priority: first.route?.priority ?? 0,
      matches: (first.route?.matches ?? []).map(describeMatch),
    },
    destinations,
    allowed: destinations.every((d) => d.authorization.allowed),
    notes,
  };
}

interface ResolvedService {
  name: string;
  namespace: string;
  service: Service | undefined;
}

/**
 * `namespace/name`, or a bare name: in `home` when given (the caller's namespace, as a
 * data plane resolves it), else the one namespace that has a Service of that name.
 */
function findService(
  config: MeshConfig,
  ref: string,
  home: string | undefined,
  flag: string,
): ResolvedService {
  const trimmed = ref.trim();
  if (!trimmed) throw new ExplainError(`${flag} needs a service name`);
  const slash = trimmed.indexOf("/");
  const nsOf = (s: Service) => s.namespace || DEFAULT_NAMESPACE;
  if (slash >= 0 || home !== undefined) {
    const namespace = slash >= 0 ? trimmed.slice(0, slash) || DEFAULT_NAMESPACE : (home as string);
    const name = slash >= 0 ? trimmed.slice(slash + 1) : trimmed;
    if (!name || name.includes("/")) throw new ExplainError(`${flag} "${ref}" is not name or namespace/name`);
    return {
      name,
      namespace,
      service: config.services.find((s) => s.name === name && nsOf(s) === namespace),
    };
  }
  const found = config.services.filter((s) => s.name === trimmed);
  if (found.length > 1)
    throw new ExplainError(
      `${flag} "${trimmed}" is a Service in namespaces ${found.map(nsOf).join(", ")}; write namespace/${trimmed}`,
    );
  const only = found[0];
  return only
    ? { name: only.name, namespace: nsOf(only), service: only }
    : { name: trimmed, namespace: DEFAULT_NAMESPACE, service: undefined };
}

/**
 * Every decision the route can make for this call, with its share: RouteTable.match draws a
 * weighted destination at random, so each is asked for with the draw that lands on it.
 */
function decisionsFor(
  table: RouteTable,
  call: Parameters<RouteTable["match"]>[0],
): { decision: RouteDecision; share: number }[] {
  const first = table.match(call, () => 0);
  const route = first.route;
  if (!route || route.destinations.length <= 1) return [{ decision: first, share: 1 }];
  const weights = route.destinations.map((d) => d.weight || 1);
  const total = weights.reduce((a, w) => a + w, 0);
  let before = 0;
  return weights.map((w) => {
    const draw = (before + w / 2) / total;
    before += w;
    return { decision: table.match(call, () => draw), share: w / total };
  });
}

interface DestinationContext {
  trustDomain: string;
  source: PeerIdentity;
  callerPlace: Place;
  caller: ResolvedService;
  call: { method: string; path: string; httpMethod: string; headers: Headers; namespace: string };
  endpoints: readonly ServiceEndpoints[];
}

function explainDestination(
  config: MeshConfig,
  table: RouteTable,
  engine: AuthorizationEngine,
  decision: RouteDecision,
  share: number,
  c: DestinationContext,
): ExplainedDestination {
  const dest = decision.destination;
  const route = decision.route;
  const p = decision.policies;
  // Which Service effectivePolicies took the service level from (RouteTable: the
  // destination's, else the route's own service).
  const policyService =
    decision.service ?? (route ? table.service(route.namespace, route.service) : undefined);
  const sourceOf = (field: keyof EffectivePolicies): string => {
    const value = p[field];
    if (value === undefined) return "built-in";
    if (route && (route as unknown as Record<string, unknown>)[field] === value)
      return `route ${route.namespace}/${route.name}`;
    const s = policyService;
    if (s && (s.policies as unknown as Record<string, unknown> | undefined)?.[field] === value)
      return `service ${s.namespace}/${s.name}`;
    return "mesh defaults";
  };

  const outCtx = ctxFor(c.callerPlace, c.caller.name, c.caller.namespace);
  const resilience = resilienceSteps(
    {
      timeout: p.timeout,
      retry: p.retry,
      hedging: p.hedging,
      fault: p.fault,
      circuitBreaker: p.circuitBreaker,
    },
    outCtx,
    { state: new ResilienceState(systemClock) },
  );
  const describeResilience = (name: string): ExplainedStep => {
    switch (name) {
      case timeoutPlugin.name:
        return {
          step: name,
          from: sourceOf("timeout"),
          settings: p.timeout
            ? describeTimeout(p.timeout)
            : "no request timeout; a deadline the caller sends is honoured and forwarded",
        };
      case faultPlugin.name:
        return { step: name, from: sourceOf("fault"), settings: p.fault ? describeFault(p.fault) : "" };
      case retryPlugin.name:
        return { step: name, from: sourceOf("retry"), settings: p.retry ? describeRetry(p.retry) : "" };
      case hedgingPlugin.name:
        return {
          step: name,
          from: sourceOf("hedging"),
          settings: p.hedging
            ? `${describeHedging(p.hedging)}${p.retry && p.retry.attempts > 1 ? "; other calls are retried" : ""}`
            : "",
        };
      case circuitBreakerPlugin.name:
        return {
          step: name,
          from: sourceOf("circuitBreaker"),
          settings: p.circuitBreaker ? describeCircuitBreaker(p.circuitBreaker) : "",
        };
      case perTryTimeoutPlugin.name: {
        const ms = p.retry?.perTryTimeout;
        return {
          step: name,
          from: sourceOf("retry"),
          settings: ms ? formatMs(Number(ms.seconds) * 1000 + ms.nanos / 1e6) : "",
        };
      }
      default:
        return { step: name, from: "built-in", settings: "" };
    }
  };
  const split = resilience.findIndex((s) => PER_ATTEMPT.has(s.name));
  const cut = split < 0 ? resilience.length : split;
  const serviceOfPlugins = decision.service;
  const userSteps: ExplainedStep[] = [
    ...(serviceOfPlugins?.plugins ?? []).map((ref) => ({
      step: "plugin",
      from: `service ${serviceOfPlugins?.namespace}/${serviceOfPlugins?.name}`,
      settings: describePlugin(ref),
    })),
    ...(route?.plugins ?? []).map((ref) => ({
      step: "plugin",
      from: `route ${route?.namespace}/${route?.name}`,
      settings: describePlugin(ref),
    })),
  ];
  const outbound: ExplainedStep[] = [
    { step: "tracing", from: "built-in", settings: "W3C trace context" },
    { step: "metrics", from: "built-in", settings: "golden signals" },
    ...resilience.slice(0, cut).map((s) => describeResilience(s.name)),
    ...userSteps,
    ...resilience.slice(cut).map((s) => describeResilience(s.name)),
    { step: "balancer", from: sourceOf("loadBalancer"), settings: describeBalancer(p.loadBalancer) },
  ];

  const endpointHealth: ExplainedStep[] = [];
  if (p.outlierDetection)
    endpointHealth.push({
      step: "outlier detection",
      from: sourceOf("outlierDetection"),
      settings: describeOutlierDetection(p.outlierDetection),
    });
  if (p.healthCheck)
    endpointHealth.push({
      step: "health check",
      from: sourceOf("healthCheck"),
      settings: describeHealthCheck(p.healthCheck),
    });

  // The destination's inbound chain, as DataPlane builds it from the callee's own Service.
  const own = table.service(dest.namespace, dest.service);
  const inPlace: Place = own?.mode === Mode.INPROCESS ? "server" : "sidecar-inbound";
  const verdict = engine.evaluate({
    service: dest.service,
    namespace: dest.namespace,
    method: c.call.method,
    path: c.call.path,
    httpMethod: c.call.httpMethod,
    headers: c.call.headers,
    source: c.source,
  });
  const rule = ruleOf(config, verdict.policy, verdict.ruleIndex);
  const limit = own?.policies?.rateLimit;
  const inResilience = resilienceSteps({ rateLimit: limit }, ctxFor(inPlace, dest.service, dest.namespace), {
    state: new ResilienceState(systemClock),
    propagateDeadlines: false,
  });
  const inbound: ExplainedStep[] = [
    { step: "tracing", from: "built-in", settings: "W3C trace context" },
    { step: "metrics", from: "built-in", settings: "golden signals" },
    {
      step: "authorization",
      from: verdict.policy ? `policy ${verdict.policy}` : "built-in",
      settings: verdict.allowed ? `ALLOW: ${verdict.reason}` : `DENY: ${verdict.reason}`,
    },
    ...inResilience
      .filter((s) => s.name === rateLimitPlugin.name && limit)
      .map((s) => ({
        step: s.name,
        from: `service ${dest.namespace}/${dest.service}`,
        settings: describeRateLimit(limit as NonNullable<typeof limit>),
      })),
    ...(own?.plugins ?? []).map((ref) => ({
      step: "plugin",
      from: `service ${dest.namespace}/${dest.service}`,
      settings: describePlugin(ref),
    })),
  ];

  const sa = decision.service?.serviceAccount || dest.service;
  return {
    service: dest.service,
    namespace: dest.namespace,
    defined: own !== undefined,
    subset: { ...dest.subset },
    share,
    identity: peerIdentity(c.trustDomain, c.call.namespace, sa).spiffeId,
    outbound,
    endpointHealth,
    inbound,
    authorization: {
      allowed: verdict.allowed,
      policy: verdict.policy,
      ruleIndex: verdict.ruleIndex,
      reason: verdict.reason,
      ...(rule === undefined ? {} : { rule }),
    },
    endpoints: countEndpoints(c.endpoints, dest.namespace, dest.service, dest.subset),
  };
}

function ctxFor(place: Place, service: string, namespace: string) {
  return { place, clock: systemClock, service, namespace, log: silentLogger };
}

function ruleOf(config: MeshConfig, policy: string, index: number): JsonValue | undefined {
  if (index < 0) return undefined;
  const found = config.authorizationPolicies.find((p) => policyKey(p) === policy);
  const rule = found?.rules[index];
  return rule ? toJson(AuthorizationRuleSchema, rule) : undefined;
}

function countEndpoints(
  sets: readonly ServiceEndpoints[],
  namespace: string,
  service: string,
  subset: Readonly<Record<string, string>>,
): ExplainedDestination["endpoints"] {
  const all = sets
    .filter((s) => s.service === service && (s.namespace || DEFAULT_NAMESPACE) === namespace)
    .flatMap((s) => s.endpoints)
    .filter((e) => Object.entries(subset).every(([k, v]) => e.labels[k] === v));
  const healthy = all.filter(
    (e) => e.health !== HealthStatus.UNHEALTHY && e.health !== HealthStatus.DRAINING,
  ).length;
  const zones = [...new Set(all.map((e) => e.zone).filter((z) => z !== ""))].sort();
  return { total: all.length, healthy, zones };
}

/** `method shop.v1.Orders/*, header x-canary = "1"`. */
export function describeMatch(m: RouteMatch): string {
  const parts: string[] = [];
  if (m.method) parts.push(`method ${m.method}`);
  if (m.path?.kind.case) parts.push(`path ${m.path.kind.case} ${m.path.kind.value}`);
  for (const h of m.headers) {
    const not = h.invert ? "not " : "";
    switch (h.kind.case) {
      case "exact":
        parts.push(`header ${h.name} ${not}= "${h.kind.value}"`);
        break;
      case "prefix":
        parts.push(`header ${h.name} ${not}starts with "${h.kind.value}"`);
        break;
      case "regex":
        parts.push(`header ${h.name} ${not}matches /${h.kind.value}/`);
        break;
      case "present":
        parts.push(`header ${h.name} ${h.kind.value !== h.invert ? "present" : "absent"}`);
        break;
      default:
        parts.push(`header ${h.name} ${h.invert ? "absent" : "present"}`);
    }
  }
  return parts.join(", ") || "every call";
}
