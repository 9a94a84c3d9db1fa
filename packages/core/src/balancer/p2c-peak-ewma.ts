import type { Clock } from "../clock/clock.ts";
import type { EndpointState } from "../endpoints/endpoint-state.ts";
import { decayedLatency } from "../endpoints/peak-ewma.ts";
import type { EndpointView } from "../endpoints/view.ts";
import type { Balancer, Random } from "./balancer.ts";
import { pickOfTwo } from "./two-choices.ts";

/**
 * Cost of an endpoint that has calls in flight but has never answered one: large, so a
 * new (possibly cold or broken) endpoint is not flooded before its latency is known, yet
 * finite and growing with its load so such endpoints are still ordered among themselves
 * (Finagle's penalty).
 */
const UNSAMPLED_PENALTY_MS = 1e9;

/**
 * Linkerd's balancer: power of two choices over a peak EWMA of latency. Cost is the
 * decayed latency estimate times (calls in flight + 1), divided by weight; the cheaper of
 * two random endpoints wins. Slow endpoints lose the comparison until their estimate decays
 * (time constant `EndpointSet.ewmaDecayMs`), which probes them again now and then.
 */
export class PeakEwmaBalancer implements Balancer {
  readonly algorithm = "p2c_peak_ewma";
  readonly #random: Random;
  readonly #clock: Clock;
  readonly #tauMs: number;
  #now = 0;
  readonly #cost = (ep: EndpointState): number => {
    if (!ep.sampled && ep.inFlight > 0) return UNSAMPLED_PENALTY_MS + ep.inFlight;
    return (decayedLatency(ep, this.#now, this.#tauMs) * (ep.inFlight + 1)) / ep.weight;
  };

  constructor(clock: Clock, tauMs: number, random: Random = Math.random) {
    this.#clock = clock;
    this.#tauMs = tauMs;
    this.#random = random;
  }

  pick(_call: unknown, view: EndpointView, now?: number): EndpointState | undefined {
    this.#now = now ?? this.#clock.now();
    return pickOfTwo(view.endpoints, this.#random, this.#cost);
  }
}
