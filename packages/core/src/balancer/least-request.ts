import type { EndpointState } from "../endpoints/endpoint-state.ts";
import type { EndpointView } from "../endpoints/view.ts";
import type { Balancer, Random } from "./balancer.ts";
import { pickOfTwo } from "./two-choices.ts";

/**
 * Least request by power of two choices (Envoy's default choice count): of two random
 * endpoints, the one with fewer calls in flight per unit of weight. Comparing two random
 * endpoints instead of scanning all keeps a pick O(1) and avoids every caller herding onto
 * the same least-loaded endpoint.
 */
export class LeastRequestBalancer implements Balancer {
  readonly algorithm = "least_request";
  readonly #random: Random;

  constructor(random: Random = Math.random) {
    this.#random = random;
  }

  pick(_call: unknown, view: EndpointView): EndpointState | undefined {
    return pickOfTwo(view.endpoints, this.#random, load);
  }
}

function load(ep: EndpointState): number {
  return (ep.inFlight + 1) / ep.weight;
}
