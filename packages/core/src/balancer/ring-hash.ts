import type { MeshCall } from "../call/call.ts";
import type { EndpointState } from "../endpoints/endpoint-state.ts";
import type { EndpointView } from "../endpoints/view.ts";
import type { Balancer, Random } from "./balancer.ts";
import { hashPair, hashString } from "./hash.ts";
import { callHash } from "./hash-key.ts";

export interface RingHashOptions {
  /** Request header whose value is hashed; calls without it go to a random endpoint. */
  readonly hashHeader: string;
  /**
   * Points of an endpoint of mean weight (default 512). More points spread keys more evenly:
   * an endpoint's share deviates by about 1/sqrt(points) from its weight's share.
   */
  readonly pointsPerEndpoint?: number;
  /**
   * Cap on the ring's size (default 2^17). Past it, the points per endpoint are halved until
   * the ring fits, so they change only when the endpoint count crosses a power of two.
   */
  readonly maxRingSize?: number;
  readonly random?: Random;
}

interface Ring {
  readonly hashes: Uint32Array;
  readonly owners: Int32Array;
}

/**
 * Consistent hashing on a ring, ketama-style: every endpoint is hashed to many points, in proportion to its weight; a key belongs to the first point at or
 * after its hash. Adding or removing one endpoint of n moves only about 1/n of the keys.
 * The ring is built once per view; a pick is a binary search.
 */
export class RingHashBalancer implements Balancer {
  readonly algorithm = "ring_hash";
  readonly #header: string;
  readonly #points: number;
  readonly #maxRingSize: number;
  readonly #random: Random;
  #view: EndpointView | undefined;
  #ring: Ring = { hashes: new Uint32Array(0), owners: new Int32Array(0) };

  constructor(options: RingHashOptions) {
    this.#header = options.hashHeader.toLowerCase();
    this.#points = options.pointsPerEndpoint ?? 512;
    this.#maxRingSize = options.maxRingSize ?? 1 << 17;
    this.#random = options.random ?? Math.random;
  }

  pick(call: MeshCall, view: EndpointView): EndpointState | undefined {
    const eps = view.endpoints;
    if (eps.length <= 1) return eps[0];
    if (this.#view !== view) {
      this.#view = view;
      this.#ring = buildRing(eps, view.totalWeight, this.#points, this.#maxRingSize);
    }
    return eps[ownerOf(this.#ring, callHash(call, this.#header, this.#random))];
  }
}

function ownerOf(ring: Ring, hash: number): number {
  const hashes = ring.hashes;
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((hashes[mid] ?? 0) < hash) lo = mid + 1;
    else hi = mid;
  }
  return ring.owners[lo === hashes.length ? 0 : lo] ?? 0;
}

/**
 * The ring: each endpoint's points are hashes of (hash of its key, point number), so they
 * depend only on the endpoint, its weight and the points per endpoint, never on the other
 * endpoints. That is what keeps the keys of other endpoints in place when one comes or goes.
 * With unequal weights, points are in proportion to weight / mean weight.
 */
function buildRing(
  eps: readonly EndpointState[],
  totalWeight: number,
  points: number,
  maxRingSize: number,
): Ring {
  const n = eps.length;
  const meanWeight = totalWeight / n;
  let perMean = points;
  while (perMean > 1 && perMean * n > maxRingSize) perMean >>= 1;
  const counts = eps.map((ep) => Math.max(1, Math.round((perMean * ep.weight) / meanWeight)));
  let size = 0;
  for (const c of counts) size += c;
  // hash * 2^21 + owner stays an exact double and sorts by hash then owner, so the ring is
  // sorted with one numeric sort of a typed array, ties broken the same way everywhere.
  const packed = new Float64Array(size);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const base = hashString(eps[i]?.key ?? "");
    const c = counts[i] ?? 0;
    for (let j = 0; j < c; j++) packed[k++] = hashPair(base, j) * 0x200000 + i;
  }
  packed.sort();
  const hashes = new Uint32Array(size);
  const owners = new Int32Array(size);
  for (let p = 0; p < size; p++) {
    const v = packed[p] ?? 0;
    const hash = Math.floor(v / 0x200000);
    hashes[p] = hash;
    owners[p] = v - hash * 0x200000;
  }
  return { hashes, owners };
}
