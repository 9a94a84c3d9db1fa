import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { CallOutcome, MeshCall, MeshResponse } from "../call/call.ts";
import { filterStep } from "../chain/chain.ts";
import type { Exchange, FilterRun } from "../chain/filter.ts";
import { definePlugin, type PluginDefinition } from "../chain/plugin.ts";
import type { EndpointDirectory } from "../endpoints/directory.ts";
import type { EndpointSet } from "../endpoints/endpoint-set.ts";
import type { EndpointState } from "../endpoints/endpoint-state.ts";
import { endpointFailed, endpointFailedError } from "../endpoints/outcome.ts";
import type { EndpointView } from "../endpoints/view.ts";
import { MeshError, type Provenance } from "../errors/mesh-error.ts";
import { LoadBalancerSchema } from "../gen/weft/v1/policy_pb.js";
import type { Balancer, Random } from "./balancer.ts";
import {
  algorithms,
  type BalancerOptions,
  balancerOptionsFromProto,
  createBalancer,
  validateBalancerOptions,
  viewPolicyOf,
} from "./create.ts";

/**
 * `call.attributes` key: keys of the endpoints earlier attempts of the call failed on
 * (string[]), so a retry goes elsewhere when it can.
 */
export const FAILED_ENDPOINTS = Symbol.for("weft.balancer.failedEndpoints");

export const BALANCER_PLUGIN = "balancer";

/** What the balance step needs from the data plane that runs it. */
export interface BalanceStepDeps {
  /** Where the endpoints of each destination service are. */
  readonly endpoints: EndpointDirectory;
  /** The zone this data plane runs in, for zone-aware routing. */
  readonly localZone?: string;
  readonly random?: Random;
}

/**
 * The balance step: for each attempt, picks an endpoint of `call.service` with the
 * configured algorithm, sets `call.endpoint`, and reports the call's start, latency (to the
 * response head) and outcome (once settled) to the endpoint set, which feeds the latency
 * EWMA and outlier detection. Fails with UNAVAILABLE, never sent, when no endpoint is
 * eligible. Options: plain BalancerOptions from code, or a `LoadBalancer` message in its
 * JSON form from configuration.
 */
export function balancePlugin(deps: BalanceStepDeps): PluginDefinition<BalancerOptions> {
  return definePlugin<BalancerOptions>({
    name: BALANCER_PLUGIN,
    places: ["client", "sidecar-outbound"],
    parseOptions: parseBalancerOptions,
    create(options, ctx) {
      validateBalancerOptions(options);
      const policy = viewPolicyOf(options, deps.localZone ?? "");
      const provenance: Provenance = { place: ctx.place, plugin: BALANCER_PLUGIN, policy: "" };
      // One balancer per endpoint set: balancers keep per-set tables and counters.
      const balancers = new WeakMap<EndpointSet, Balancer>();
      const balancerOf = (set: EndpointSet): Balancer => {
        let b = balancers.get(set);
        if (!b) {
          b = createBalancer(options, {
            clock: set.clock,
            ewmaDecayMs: set.ewmaDecayMs,
            random: deps.random,
          });
          balancers.set(set, b);
        }
        return b;
      };

      const open = (call: MeshCall): BalanceExchange => {
        const set = deps.endpoints.get(call.service, call.namespace);
        if (!set) {
          throw new MeshError(
            Code.Unavailable,
            `no endpoints known for ${call.service} in namespace ${call.namespace}`,
            provenance,
            { neverSent: true },
          );
        }
        const view = set.view(policy);
        // The attempt's start (when the chain runs on the set's clock) serves the pick
        // (latency decay) and the start of the latency measured.
        const start =
          set.clock === ctx.clock && call.startedAt !== undefined ? call.startedAt : set.clock.now();
        const ep = pickAvoidingFailed(balancerOf(set), call, view, start);
        if (!ep) throw noEndpointError(call.service, view, provenance);
        call.endpoint = ep.ref;
        set.onStart(ep);
        return new BalanceExchange(call, set, ep, start);
      };
      return filterStep({ bind: () => open }, ctx.place, BALANCER_PLUGIN);
    },
  });
}

/** One attempt on a picked endpoint, reported to its set: started, then its latency and outcome. */
class BalanceExchange implements Exchange {
  readonly call: MeshCall;
  readonly #set: EndpointSet;
  readonly #ep: EndpointState;
  readonly #start: number;

  constructor(call: MeshCall, set: EndpointSet, ep: EndpointState, start: number) {
    this.call = call;
    this.#set = set;
    this.#ep = ep;
    this.#start = start;
  }

  answered(response: MeshResponse, run: FilterRun): MeshResponse {
    const set = this.#set;
    const ep = this.#ep;
    // The EWMA is stamped with the head's time: what the latency measures.
    const end = run.now(set.clock);
    const latency = end - this.#start;
    // Any failure, not just the endpoint's fault: a retry of this call had better go elsewhere.
    if (response.code ? true : response.status >= 500) rememberFailure(this.call, ep.key);
    const outcome = response.outcome;
    if (outcome !== undefined) set.onEnd(ep, latency, !endpointFailed(outcome), end);
    else {
      // One closure for both outcomes.
      const settle = (o: unknown): void => {
        const failed = isOutcome(o) ? endpointFailed(o) : endpointFailedError(o);
        set.onEnd(ep, latency, !failed, end);
      };
      response.settled.then(settle, settle);
    }
    return response;
  }

  failed(error: MeshError, run: FilterRun): never {
    const end = run.now(this.#set.clock);
    this.#set.onEnd(this.#ep, end - this.#start, !endpointFailedError(error), end);
    rememberFailure(this.call, this.#ep.key);
    throw error;
  }
}

/**
 * The balancer's pick, unless an earlier attempt of the call failed there and another
 * endpoint is eligible: then a fresh pick, and failing that (hash balancers answer the same
 * every time) the next endpoint of the view that has not failed.
 */
function pickAvoidingFailed(
  balancer: Balancer,
  call: MeshCall,
  view: EndpointView,
  now: number,
): EndpointState | undefined {
  const first = balancer.pick(call, view, now);
  const failed = call.attributes.get(FAILED_ENDPOINTS) as string[] | undefined;
  if (!first || !failed?.includes(first.key)) return first;
  for (let i = 0; i < 2; i++) {
    const again = balancer.pick(call, view, now);
    if (again && !failed.includes(again.key)) return again;
  }
  const eps = view.endpoints;
  const at = eps.indexOf(first);
  for (let k = 1; k < eps.length; k++) {
    const ep = eps[(at + k) % eps.length];
    if (ep && !failed.includes(ep.key)) return ep;
  }
  // Every eligible endpoint has failed this call once: trying one again beats failing.
  return first;
}

function isOutcome(value: unknown): value is CallOutcome {
  return typeof (value as CallOutcome | undefined)?.status === "number" && !(value instanceof Error);
}

function rememberFailure(call: MeshCall, key: string): void {
  const failed = call.attributes.get(FAILED_ENDPOINTS) as string[] | undefined;
  if (!failed) call.attributes.set(FAILED_ENDPOINTS, [key]);
  else if (!failed.includes(key)) failed.push(key);
}

function noEndpointError(service: string, view: EndpointView, provenance: Provenance): MeshError {
  let detail: string;
  if (view.members === 0) {
    detail = view.draining > 0 ? `all ${view.draining} draining` : "none discovered";
  } else {
    detail = `${view.ejected} ejected, ${view.unhealthy} unhealthy`;
  }
  return new MeshError(Code.Unavailable, `no healthy endpoint for ${service} (${detail})`, provenance, {
    neverSent: true,
  });
}

/**
 * Options from configuration: a `LoadBalancer` message in its JSON form. The algorithm may
 * also be given by its short name ("maglev" for "ALGORITHM_MAGLEV").
 */
export function parseBalancerOptions(raw: Record<string, unknown>): BalancerOptions {
  const json = { ...raw } as Record<string, JsonValue>;
  const algorithm = json.algorithm;
  if (typeof algorithm === "string") {
    const short = algorithm.replace(/^ALGORITHM_/, "").toLowerCase();
    if (!(algorithms as readonly string[]).includes(short)) {
      throw new Error(
        `balancer options: algorithm "${algorithm}" is unknown; expected one of ${algorithms.join(", ")}`,
      );
    }
    json.algorithm = `ALGORITHM_${short.toUpperCase()}`;
  }
  try {
    const options = balancerOptionsFromProto(fromJson(LoadBalancerSchema, json));
    validateBalancerOptions(options);
    return options;
  } catch (err) {
    throw new Error(`balancer options: ${(err as Error).message}`, { cause: err });
  }
}
