import type { MeshCall, Place } from "../call/call.ts";
import type { Clock } from "../clock/clock.ts";
import { ConcurrencyLimit, type ConcurrencyLimitOptions } from "./concurrency-limit.ts";
import { type RetryBudgetOptions, RetryBudgetWindow } from "./retry-budget.ts";
import { TokenBucket, type TokenBucketOptions } from "./token-bucket.ts";

/**
 * The counters that must outlive one chain and be shared by every route of a service:
 * retry budgets, concurrency limits and token buckets, keyed by place and destination
 * service. A data plane keeps one for its life, so rebuilding the chain on a config change
 * neither resets a budget nor forgets the requests in flight.
 */
export class ResilienceState {
  readonly clock: Clock;
  readonly #budgets = new Map<string, RetryBudgetWindow>();
  readonly #limits = new Map<string, ConcurrencyLimit>();
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** The retry budget of `key`, made with `options` or brought up to them. */
  budget(key: string, options: RetryBudgetOptions): RetryBudgetWindow {
    const found = this.#budgets.get(key);
    if (found) {
      found.configure(options);
      return found;
    }
    const made = new RetryBudgetWindow(options, this.clock);
    this.#budgets.set(key, made);
    return made;
  }

  limit(key: string, options: ConcurrencyLimitOptions): ConcurrencyLimit {
    const found = this.#limits.get(key);
    if (found) {
      found.configure(options);
      return found;
    }
    const made = new ConcurrencyLimit(options);
    this.#limits.set(key, made);
    return made;
  }

  bucket(key: string, options: TokenBucketOptions): TokenBucket {
    const found = this.#buckets.get(key);
    if (found) {
      found.configure(options);
      return found;
    }
    const made = new TokenBucket(options, this.clock);
    this.#buckets.set(key, made);
    return made;
  }
}

const perClock = new WeakMap<Clock, ResilienceState>();

/**
 * The state shared by steps built without an explicit one: one per clock, since a data
 * plane has one clock (and every test its own FakeClock).
 */
export function sharedResilienceState(clock: Clock): ResilienceState {
  const found = perClock.get(clock);
  if (found) return found;
  const made = new ResilienceState(clock);
  perClock.set(clock, made);
  return made;
}

/** The key of the destination service of a call at a place. */
export function serviceKey(place: Place, call: MeshCall): string {
  return `${place}|${call.namespace}/${call.service}`;
}

/**
 * Looks a per-service object up, remembering the last one: a chain built for one service's
 * policies sees the same service call after call, so the map is rarely touched.
 */
export class PerService<T> {
  readonly #place: Place;
  readonly #make: (key: string) => T;
  #lastService = "";
  #lastNamespace = "";
  #last: T | undefined;

  constructor(place: Place, make: (key: string) => T) {
    this.#place = place;
    this.#make = make;
  }

  for(call: MeshCall): T {
    if (
      this.#last !== undefined &&
      call.service === this.#lastService &&
      call.namespace === this.#lastNamespace
    ) {
      return this.#last;
    }
    const made = this.#make(serviceKey(this.#place, call));
    this.#lastService = call.service;
    this.#lastNamespace = call.namespace;
    this.#last = made;
    return made;
  }
}
