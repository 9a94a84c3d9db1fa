import type { EndpointState } from "../endpoints/endpoint-state.ts";
import type { EndpointView } from "../endpoints/view.ts";
import type { Balancer, Random } from "./balancer.ts";

/**
 * Weighted random: an endpoint is drawn with probability weight / total weight, by binary
 * search in cumulative weights computed once per view (O(log n) per pick).
 */
export class WeightedRandomBalancer implements Balancer {
  readonly algorithm = "weighted_random";
  readonly #random: Random;
  #view: EndpointView | undefined;
  #cumulative: Float64Array = new Float64Array(0);

  constructor(random: Random = Math.random) {
    this.#random = random;
  }

  pick(_call: unknown, view: EndpointView): EndpointState | undefined {
    const eps = view.endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    if (view.uniformWeights) return eps[Math.floor(this.#random() * n)];
    if (this.#view !== view) {
      this.#view = view;
      this.#cumulative = cumulativeWeights(eps);
    }
    const cumulative = this.#cumulative;
    const target = this.#random() * view.totalWeight;
    // First index whose cumulative weight exceeds the target.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] ?? 0) > target) hi = mid;
      else lo = mid + 1;
    }
    return eps[lo];
  }
}

function cumulativeWeights(eps: readonly EndpointState[]): Float64Array {
  const out = new Float64Array(eps.length);
  let sum = 0;
  for (let i = 0; i < eps.length; i++) {
    sum += eps[i]?.weight ?? 0;
    out[i] = sum;
  }
  return out;
}
