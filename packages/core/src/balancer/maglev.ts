import type { MeshCall } from "../call/call.ts";
import type { EndpointState } from "../endpoints/endpoint-state.ts";
import type { EndpointView } from "../endpoints/view.ts";
import type { Balancer, Random } from "./balancer.ts";
import { hashString } from "./hash.ts";
import { callHash } from "./hash-key.ts";

export interface MaglevOptions {
  /** Request header whose value is hashed; calls without it go to a random endpoint. */
  readonly hashHeader: string;
  /** Lookup table size; must be prime (default 65537, as in Envoy). */
  readonly tableSize?: number;
  readonly random?: Random;
}

const OFFSET_SEED = 0x6d61676c;
const SKIP_SEED = 0x65767332;

/**
 * Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size M filled by
 * letting endpoints take turns claiming their next free preferred slot, each endpoint's
 * preferences being a permutation (offset + j * skip) mod M of the slots. The table is
 * almost perfectly even (equal weights: slot counts differ by at most one) and changes
 * little when an endpoint comes or goes. Weights: an endpoint takes a turn in a round with
 * probability weight / max weight (credits, as in Envoy). A pick is one table lookup.
 */
export class MaglevBalancer implements Balancer {
  readonly algorithm = "maglev";
  readonly #header: string;
  readonly #size: number;
  readonly #random: Random;
  #view: EndpointView | undefined;
  #table: Int32Array = new Int32Array(0);

  constructor(options: MaglevOptions) {
    const size = options.tableSize ?? 65537;
    if (!isPrime(size)) throw new Error(`maglev table size must be prime, got ${size}`);
    this.#header = options.hashHeader.toLowerCase();
    this.#size = size;
    this.#random = options.random ?? Math.random;
  }

  pick(call: MeshCall, view: EndpointView): EndpointState | undefined {
    const eps = view.endpoints;
    if (eps.length <= 1) return eps[0];
    if (this.#view !== view) {
      this.#view = view;
      this.#table = buildTable(eps, this.#size);
    }
    return eps[this.#table[callHash(call, this.#header, this.#random) % this.#size] ?? 0];
  }

  /** The current table (slot -> index in the view), for inspection and tests. */
  get table(): Int32Array {
    return this.#table;
  }
}

/**
 * Slot -> index of the owning endpoint in `eps`. Endpoints take turns in key order, so every
 * data plane builds the same table from the same endpoints whatever order discovery used.
 */
export function buildTable(eps: readonly EndpointState[], size: number): Int32Array {
  const n = eps.length;
  const order = eps.map((_, i) => i).sort((a, b) => compareKeys(eps[a]?.key ?? "", eps[b]?.key ?? ""));
  const table = new Int32Array(size).fill(-1);
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  const share = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (const ep of eps) maxWeight = Math.max(maxWeight, ep.weight);
  for (let i = 0; i < n; i++) {
    const ep = eps[i];
    if (!ep) continue;
    offset[i] = hashString(ep.key, OFFSET_SEED) % size;
    skip[i] = (hashString(ep.key, SKIP_SEED) % (size - 1)) + 1;
    share[i] = ep.weight / maxWeight;
  }
  let filled = 0;
  for (;;) {
    for (const i of order) {
      const c = (credit[i] ?? 0) + (share[i] ?? 0);
      if (c < 1) {
        credit[i] = c;
        continue;
      }
      credit[i] = c - 1;
      const o = offset[i] ?? 0;
      const s = skip[i] ?? 1;
      let j = next[i] ?? 0;
      let slot = (o + j * s) % size;
      while ((table[slot] ?? 0) >= 0) {
        j++;
        slot = (o + j * s) % size;
      }
      next[i] = j + 1;
      table[slot] = i;
      if (++filled === size) return table;
    }
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
