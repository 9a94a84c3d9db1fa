import type { EndpointState } from "../endpoints/endpoint-state.ts";
import type { EndpointView } from "../endpoints/view.ts";
import type { Balancer } from "./balancer.ts";

/**
 * Round robin. Equal weights: a plain rotating index, O(1). Unequal weights: nginx's smooth
 * weighted round robin (each pick adds every weight to its endpoint's credit, takes the
 * endpoint with the most credit and takes the total from it), which spreads a heavy
 * endpoint's turns evenly through the cycle instead of sending them back to back. That is
 * O(n) per pick, the price of its smoothness; for very large weighted sets weighted random
 * is O(log n).
 */
export class RoundRobinBalancer implements Balancer {
  readonly algorithm = "round_robin";
  #next = 0;
  #view: EndpointView | undefined;
  #credit: Float64Array = new Float64Array(0);

  constructor(start = 0) {
    this.#next = start;
  }

  pick(_call: unknown, view: EndpointView): EndpointState | undefined {
    const eps = view.endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    if (view.uniformWeights) {
      const i = this.#next++ % n;
      if (this.#next >= 0x3fffffff) this.#next = 0;
      return eps[i];
    }
    if (this.#view !== view) {
      this.#view = view;
      this.#credit = new Float64Array(n);
    }
    const credit = this.#credit;
    let best = 0;
    let bestCredit = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const c = (credit[i] ?? 0) + (eps[i]?.weight ?? 0);
      credit[i] = c;
      if (c > bestCredit) {
        bestCredit = c;
        best = i;
      }
    }
    credit[best] = bestCredit - view.totalWeight;
    return eps[best];
  }
}
