import type { EndpointState } from "../endpoints/endpoint-state.ts";
import type { Random } from "./balancer.ts";

/**
 * Power of two choices: two distinct endpoints drawn uniformly, the cheaper one kept
 * (`cost` lower is better; ties go to the first draw). O(1) per pick whatever the count.
 */
export function pickOfTwo(
  endpoints: readonly EndpointState[],
  random: Random,
  cost: (ep: EndpointState) => number,
): EndpointState | undefined {
  const n = endpoints.length;
  if (n <= 1) return endpoints[0];
  const i = Math.floor(random() * n);
  // A second index drawn from the n-1 others, so the two are always distinct.
  let j = Math.floor(random() * (n - 1));
  if (j >= i) j++;
  const a = endpoints[i];
  const b = endpoints[j];
  if (!a || !b) return a ?? b;
  return cost(b) < cost(a) ? b : a;
}
