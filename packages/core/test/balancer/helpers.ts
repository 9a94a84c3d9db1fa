import { newCall } from "../../src/call/call.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { EndpointSet } from "../../src/endpoints/endpoint-set.ts";
import type { EndpointInit } from "../../src/endpoints/endpoint-state.ts";

/** A seeded PRNG (mulberry32), so every run draws the same numbers. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` endpoints 10.0.0.1:8080 ... with optional per-endpoint fields. */
export function endpoints(
  n: number,
  init: (i: number) => Partial<EndpointInit> = () => ({}),
): EndpointInit[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.0.${i >> 8}.${(i & 255) + 1}`,
    port: 8080,
    ...init(i),
  }));
}

export function makeSet(eps: EndpointInit[], clock = new FakeClock()): EndpointSet {
  return new EndpointSet({ service: "orders", clock, endpoints: eps });
}

export function call(headers?: Record<string, string>) {
  return newCall({
    kind: "unary",
    place: "client",
    service: "orders",
    method: "shop.v1.Orders/Get",
    headers,
  });
}

/** How many of `picks` went to each endpoint key. */
export function tally(keys: (string | undefined)[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}
