import { create } from "@bufbuild/protobuf";
import { AuthorizationEngine } from "../authz/engine.ts";
import { authorization } from "../authz/plugin.ts";
import { balancePlugin } from "../balancer/balance-step.ts";
import { balancerOptionsFromProto } from "../balancer/create.ts";
import type { EndpointRef, MeshCall, MeshResponse, PeerIdentity, Place } from "../call/call.ts";
import { compose, type Handler, type Step, terminalStep } from "../chain/chain.ts";
import {
  createPlugin,
  type Logger,
  type Plugin,
  type PluginContext,
  runsIn,
  silentLogger,
} from "../chain/plugin.ts";
import { type Clock, systemClock } from "../clock/clock.ts";
import { type MeshConfig, MeshConfigSchema } from "../gen/weft/v1/config_pb.js";
import type { ServiceEndpoints } from "../gen/weft/v1/endpoint_pb.js";
import type { HedgingPolicy, RetryPolicy, TimeoutPolicy } from "../gen/weft/v1/policy_pb.js";
import { peerIdentity } from "../identity/spiffe.ts";
import { ResilienceState } from "../resilience/resilience-state.ts";
import { resilienceSteps } from "../resilience/steps.ts";
import type { RouteDecision } from "../routing/route-table.ts";
import { RouteTable } from "../routing/route-table.ts";
import { accessLogPlugin } from "../telemetry/access-log-plugin.ts";
import { MeshMetrics } from "../telemetry/mesh-metrics.ts";
import { metricsPlugin } from "../telemetry/metrics-plugin.ts";
import { tracingPlugin } from "../telemetry/tracing-plugin.ts";
import { Destinations, type ProbeFactory } from "./destinations.ts";
import {
  type AnyPluginDefinition,
  type PluginModuleLoader,
  type ResolvedPlugin,
  resolvePluginRefs,
} from "./plugin-refs.ts";

export const DEFAULT_TRUST_DOMAIN = "weft.local";

/** Which shape of data plane runs the chains: decides the four places' names. */
export type Shape = "inprocess" | "sidecar";

/**
 * Policies an in-process caller declares for a method (from a generated policy table).
 * They apply where no configured route sets the same policy.
 */
export interface MethodDefaults {
  readonly timeout?: TimeoutPolicy;
  readonly retry?: RetryPolicy;
  readonly hedging?: HedgingPolicy;
}

export interface DataPlaneOptions {
  readonly shape: Shape;
  /** The local service (the caller on the outbound side, the callee inbound). */
  readonly service: string;
  readonly namespace?: string;
  readonly zone?: string;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Writes one access-log record per call when given. */
  readonly accessLog?: Logger;
  readonly metrics?: MeshMetrics;
  /** The terminal of the outbound chain: sends one attempt to `call.endpoint`. */
  readonly send: Handler;
  /** Plugin definitions by name, for PluginRefs naming them; user plugins composed by code. */
  readonly plugins?: readonly AnyPluginDefinition[];
  /** Loads a PluginRef's module when no registered plugin has its name. */
  readonly loadPlugin?: PluginModuleLoader;
  /**
   * Told when an endpoint leaves a destination (or starts draining), so the shape can drain
   * its connections to it: calls in flight finish, no new ones start.
   */
  readonly onEndpointRemoved?: (endpoint: EndpointRef) => void;
  /** Active health probes (HTTP, gRPC, TCP); they need sockets, which only the shape has. */
  readonly probeFactory?: ProbeFactory;
  readonly random?: () => number;
}

interface Version {
  readonly version: string;
  readonly config: MeshConfig;
  readonly table: RouteTable;
  readonly authz: AuthorizationEngine;
  readonly trustDomain: string;
  readonly plugins: ReadonlyMap<string, ResolvedPlugin[]>;
  readonly outbound: WeakMap<RouteDecision, PerDecision>;
  readonly inbound: WeakMap<Handler, Handler>;
}

const NO_DEFAULTS: MethodDefaults = {};

/** What a route decision needs per call, worked out on its first call, not on every one. */
interface PerDecision {
  readonly handlers: Map<MethodDefaults | undefined, Handler>;
  /** The destination identity for calls in `namespace` (the decision's, nearly always). */
  namespace: string;
  identity: PeerIdentity | undefined;
}

/**
 * The mesh core as one object that a data-plane shape drives: it holds the configuration in
 * force and the endpoints of every destination, and runs each call through the chain its
 * route calls for. The in-process SDK and the sidecar both use it; they only bring sockets
 * (the `send` terminal, the application handler, health probes).
 *
 * A configuration version is compiled whole before it replaces the one in force (routes,
 * authorization, plugins), so a version that cannot be applied throws (NACK) and the
 * previous one keeps serving. Chains are built once per route and version, then reused.
 */
export class DataPlane {
  readonly shape: Shape;
  readonly service: string;
  readonly namespace: string;
  readonly clock: Clock;
  readonly metrics: MeshMetrics;
  readonly destinations: Destinations;
  readonly #options: DataPlaneOptions;
  readonly #registered: Map<string, AnyPluginDefinition>;
  readonly #loaded = new Map<string, AnyPluginDefinition>();
  readonly #resilience: ResilienceState;
  readonly #balance;
  readonly #staticEndpoints = new Set<string>();
  #current: Version;

  constructor(options: DataPlaneOptions) {
    this.#options = options;
    this.shape = options.shape;
    this.service = options.service;
    this.namespace = options.namespace ?? "default";
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? new MeshMetrics({ clock: this.clock });
    this.#resilience = new ResilienceState(this.clock);
    this.#registered = new Map((options.plugins ?? []).map((p) => [p.name, p]));
    this.#balance = balancePlugin({
      endpoints: { get: (s, ns) => this.destinations.registry.get(s, ns) },
      localZone: options.zone,
      random: options.random,
    });
    const removed = options.onEndpointRemoved;
    this.destinations = new Destinations(
      this.clock,
      options.probeFactory,
      (e, set) =>
        this.metrics.recordEjection({
          place: this.#place("out"),
          service: set.service,
          namespace: set.namespace,
          reason: e.reason,
        }),
      removed ? { onRemoved: (ep) => removed(ep.ref) } : undefined,
    );
    this.#current = this.#compile("", create(MeshConfigSchema), new Map());
  }

  /** The version in force ("" before any). */
  get version(): string {
    return this.#current.version;
  }

  get config(): MeshConfig {
    return this.#current.config;
  }

  get routes(): RouteTable {
    return this.#current.table;
  }

  get trustDomain(): string {
    return this.#current.trustDomain;
  }

  /**
   * Compiles and switches to a configuration version. Throws, leaving the version in force
   * untouched, when any part cannot be applied: the reason is what a NACK reports.
   */
  async applyConfig(config: MeshConfig, version: string): Promise<void> {
    const refs = new Map<string, ResolvedPlugin[]>();
    for (const s of config.services) {
      if (s.plugins.length > 0) refs.set(`service:${s.namespace}/${s.name}`, await this.#resolve(s.plugins));
    }
    for (const r of config.routes) {
      if (r.plugins.length > 0) refs.set(`route:${r.namespace}/${r.name}`, await this.#resolve(r.plugins));
    }
    const next = this.#compile(version, config, refs);
    // Plugin options are checked by creating every chain step once, before switching.
    for (const s of config.services) this.#checkPlugins(next, refs.get(`service:${s.namespace}/${s.name}`));
    for (const r of config.routes) this.#checkPlugins(next, refs.get(`route:${r.namespace}/${r.name}`));

    for (const k of [...this.#staticEndpoints]) {
      const [ns = "", svc = ""] = k.split("/");
      if (!config.endpoints.some((e) => e.service === svc && (e.namespace || "default") === ns)) {
        this.destinations.removeService(svc, ns);
        this.#staticEndpoints.delete(k);
      }
    }
    for (const e of config.endpoints) {
      this.destinations.setEndpoints(e);
      this.#staticEndpoints.add(`${e.namespace || "default"}/${e.service}`);
    }
    this.#current = next;
    this.#applyHealthPolicies();
  }

  /** Replaces the endpoints of services (discovery). */
  applyEndpoints(
    updated: readonly ServiceEndpoints[],
    removed: readonly { service: string; namespace: string }[] = [],
  ): void {
    for (const e of updated) this.destinations.setEndpoints(e);
    for (const r of removed) this.destinations.removeService(r.service, r.namespace);
    this.#applyHealthPolicies();
  }

  /**
   * Runs an outbound call: routes it, then runs the route's chain, whose last step sends
   * the attempt to the endpoint the balancer picked.
   */
  outbound(call: MeshCall, defaults?: MethodDefaults): Promise<MeshResponse> {
    const v = this.#current;
    const decision = v.table.match(call);
    call.route = decision.routeName;
    if (decision.destination.service !== call.service) call.service = decision.destination.service;
    let per = v.outbound.get(decision);
    if (!per) {
      per = { handlers: new Map(), namespace: "", identity: undefined };
      v.outbound.set(decision, per);
    }
    if (call.destination === undefined) {
      // The identity depends only on the version, the namespace and the decision's service:
      // validating and formatting a SPIFFE ID per call would cost more than the chain.
      if (per.identity === undefined || per.namespace !== call.namespace) {
        const sa = decision.service?.serviceAccount || call.service;
        per.identity = Object.freeze(peerIdentity(v.trustDomain, call.namespace, sa));
        per.namespace = call.namespace;
      }
      call.destination = per.identity;
    }
    let handler = per.handlers.get(defaults);
    if (!handler) {
      handler = this.#outboundChain(v, decision, defaults ?? NO_DEFAULTS);
      per.handlers.set(defaults, handler);
    }
    return handler(call);
  }

  /** Runs an inbound call through authorization, limits and telemetry, then `app`. */
  inbound(call: MeshCall, app: Handler): Promise<MeshResponse> {
    const v = this.#current;
    let handler = v.inbound.get(app);
    if (!handler) {
      handler = this.#inboundChain(v, app);
      v.inbound.set(app, handler);
    }
    return handler(call);
  }

  /** Stops health checks and detectors and forgets every endpoint. */
  close(): void {
    this.destinations.close();
  }

  #place(direction: "in" | "out"): Place {
    if (this.shape === "inprocess") return direction === "out" ? "client" : "server";
    return direction === "out" ? "sidecar-outbound" : "sidecar-inbound";
  }

  #ctx(direction: "in" | "out"): PluginContext {
    return {
      place: this.#place(direction),
      clock: this.clock,
      service: this.service,
      namespace: this.namespace,
      log: this.#options.log ?? silentLogger,
    };
  }

  #telemetrySteps(ctx: PluginContext): Plugin[] {
    const steps = [createPlugin(tracingPlugin, {}, ctx), createPlugin(metricsPlugin(this.metrics), {}, ctx)];
    if (this.#options.accessLog)
      steps.push(createPlugin(accessLogPlugin, { logger: this.#options.accessLog }, ctx));
    return steps;
  }

  #outboundChain(v: Version, decision: RouteDecision, defaults: MethodDefaults): Handler {
    const ctx = this.#ctx("out");
    const route = decision.route;
    const p = decision.policies;
    const resilience = resilienceSteps(
      {
        timeout: route?.timeout ?? defaults.timeout ?? p.timeout,
        retry: route?.retry ?? defaults.retry ?? p.retry,
        hedging: route?.hedging ?? defaults.hedging ?? p.hedging,
        fault: p.fault,
        circuitBreaker: p.circuitBreaker,
      },
      ctx,
      { state: this.#resilience, random: this.#options.random },
    );
    // User plugins run once per call, after admission (timeout, faults) and before the
    // attempt loop (retry, hedging, breaker, per-try timeout), like Envoy's HTTP filters.
    const firstPerAttempt = resilience.findIndex((s) =>
      ["retry", "hedging", "circuit-breaker", "per-try-timeout"].includes(s.name),
    );
    const split = firstPerAttempt < 0 ? resilience.length : firstPerAttempt;
    const user = this.#userSteps(v, decision, ctx);
    const balance = createPlugin(
      this.#balance,
      p.loadBalancer ? balancerOptionsFromProto(p.loadBalancer) : {},
      ctx,
    );
    const steps: Step[] = [
      ...this.#telemetrySteps(ctx),
      ...resilience.slice(0, split),
      ...user,
      ...resilience.slice(split),
      balance,
    ];
    return compose(ctx.place, steps, terminalStep("transport", this.#options.send), this.clock);
  }

  #inboundChain(v: Version, app: Handler): Handler {
    const ctx = this.#ctx("in");
    const own = v.table.service(this.namespace, this.service);
    const resilience = resilienceSteps({ rateLimit: own?.policies?.rateLimit }, ctx, {
      state: this.#resilience,
    });
    const steps: Step[] = [
      ...this.#telemetrySteps(ctx),
      createPlugin(authorization, { engine: v.authz }, ctx),
      ...resilience,
      ...this.#pluginSteps(v.plugins.get(`service:${this.namespace}/${this.service}`), ctx),
    ];
    return compose(ctx.place, steps, terminalStep("application", app), this.clock);
  }

  #userSteps(v: Version, decision: RouteDecision, ctx: PluginContext): Plugin[] {
    const svc = decision.service;
    const route = decision.route;
    return [
      ...this.#pluginSteps(svc ? v.plugins.get(`service:${svc.namespace}/${svc.name}`) : undefined, ctx),
      ...this.#pluginSteps(route ? v.plugins.get(`route:${route.namespace}/${route.name}`) : undefined, ctx),
    ];
  }

  #pluginSteps(resolved: readonly ResolvedPlugin[] | undefined, ctx: PluginContext): Plugin[] {
    if (!resolved) return [];
    const out: Plugin[] = [];
    for (const r of resolved) {
      if (r.definition.places && !r.definition.places.includes(ctx.place)) continue;
      const options = r.definition.parseOptions ? r.definition.parseOptions(r.options) : r.options;
      const plugin = createPlugin(r.definition, options, ctx);
      if (runsIn(plugin, ctx.place)) out.push(plugin);
    }
    return out;
  }

  #checkPlugins(v: Version, resolved: readonly ResolvedPlugin[] | undefined): void {
    if (!resolved) return;
    for (const direction of ["out", "in"] as const) {
      try {
        for (const p of this.#pluginSteps(resolved, this.#ctx(direction))) void p.close?.();
      } catch (e) {
        throw new Error(`version ${v.version}: ${(e as Error).message}`);
      }
    }
  }

  #resolve(refs: Parameters<typeof resolvePluginRefs>[0]): Promise<ResolvedPlugin[]> {
    return resolvePluginRefs(refs, this.#registered, this.#options.loadPlugin, this.#loaded);
  }

  #compile(version: string, config: MeshConfig, plugins: ReadonlyMap<string, ResolvedPlugin[]>): Version {
    return {
      version,
      config,
      table: new RouteTable(config),
      authz: AuthorizationEngine.compile(config.authorizationPolicies),
      trustDomain: config.mesh?.trustDomain || DEFAULT_TRUST_DOMAIN,
      plugins,
      outbound: new WeakMap(),
      inbound: new WeakMap(),
    };
  }

  #applyHealthPolicies(): void {
    const table = this.#current.table;
    this.destinations.applyPolicies((service, namespace) => {
      const p = table.match({ service, namespace, method: "", path: "", headers: new Headers() }).policies;
      return { outlierDetection: p.outlierDetection, healthCheck: p.healthCheck };
    });
  }
}
