import type { Clock, TimerHandle } from "../clock/clock.ts";
import type { ServiceEndpoints } from "../gen/weft/v1/endpoint_pb.js";
import { type EndpointInit, EndpointState, endpointInitFromProto, endpointKey } from "./endpoint-state.ts";
import { observeLatency } from "./peak-ewma.ts";
import { computeView, defaultViewPolicy, type EndpointView, type ViewPolicy } from "./view.ts";

/** Watches the endpoints of a set: calls on them, and endpoints joining and leaving. */
export interface EndpointObserver {
  onStart?(endpoint: EndpointState): void;
  /**
   * A call on `endpoint` settled. `success` is false only for failures that are the
   * endpoint's fault (see endpointFailed in outcome.ts), not for application errors.
   */
  onEnd?(endpoint: EndpointState, latencyMs: number, success: boolean): void;
  /** The endpoint joined the set (also called for the endpoints present when observing starts). */
  onAdded?(endpoint: EndpointState): void;
  /** The endpoint left the set or started draining: it takes no more calls. */
  onRemoved?(endpoint: EndpointState): void;
}

export interface EndpointSetOptions {
  readonly service: string;
  readonly namespace?: string;
  readonly clock: Clock;
  readonly endpoints?: readonly EndpointInit[];
  /** Time constant of the latency EWMA (Linkerd: 10 s). */
  readonly ewmaDecayMs?: number;
  /** Latency assumed for an endpoint before its first call completes (Linkerd: 30 ms). */
  readonly defaultRttMs?: number;
}

/**
 * The live endpoints of one service, keyed `address:port`, with the state balancing needs.
 * Discovery replaces the membership with `update`; outlier detection and health checks change
 * eligibility; the balance step reports calls with `onStart`/`onEnd`. `view` gives the
 * endpoints to pick from, recomputed only when something changed.
 */
export class EndpointSet {
  readonly service: string;
  readonly namespace: string;
  readonly clock: Clock;
  readonly ewmaDecayMs: number;
  readonly defaultRttMs: number;
  readonly #byKey = new Map<string, EndpointState>();
  #all: EndpointState[] = [];
  #observers: EndpointObserver[] = [];
  #unejectTimers = new Map<EndpointState, TimerHandle>();
  /** Removed by an update while calls were in flight: dropped when the last one settles. */
  readonly #leaving = new Set<EndpointState>();
  #version = 0;
  #viewVersion = -1;
  #viewPolicy: ViewPolicy | undefined;
  #view: EndpointView | undefined;

  constructor(options: EndpointSetOptions) {
    this.service = options.service;
    this.namespace = options.namespace ?? "default";
    this.clock = options.clock;
    this.ewmaDecayMs = options.ewmaDecayMs ?? 10_000;
    this.defaultRttMs = options.defaultRttMs ?? 30;
    if (options.endpoints) this.update(options.endpoints);
  }

  /** Bumped on every change of membership or eligibility. */
  get version(): number {
    return this.#version;
  }

  /** Every endpoint, draining ones included, in announcement order. */
  get all(): readonly EndpointState[] {
    return this.#all;
  }

  get(key: string): EndpointState | undefined {
    return this.#byKey.get(key);
  }

  /**
   * Replaces the membership with `endpoints`. Endpoints that stay keep their state (latency,
   * ejection, health); a removed endpoint with calls in flight is kept as draining until they
   * finish, and is never picked again.
   */
  update(endpoints: readonly EndpointInit[]): void {
    const now = this.clock.now();
    const next: EndpointState[] = [];
    const seen = new Set<string>();
    const added: EndpointState[] = [];
    const removed: EndpointState[] = [];
    for (const init of endpoints) {
      const key = endpointKey(init.address, init.port);
      if (seen.has(key)) continue;
      seen.add(key);
      let ep = this.#byKey.get(key);
      if (ep) {
        this.#leaving.delete(ep);
        const wasDraining = ep.draining;
        ep.refresh(init);
        if (!wasDraining && ep.draining) removed.push(ep);
        else if (wasDraining && !ep.draining) added.push(ep);
      } else {
        ep = new EndpointState(init, now, this.defaultRttMs);
        this.#byKey.set(key, ep);
        if (!ep.draining) added.push(ep);
      }
      next.push(ep);
    }
    for (const ep of this.#all) {
      if (seen.has(ep.key)) continue;
      if (!ep.draining) removed.push(ep);
      if (ep.inFlight > 0) {
        ep.draining = true;
        this.#leaving.add(ep);
        next.push(ep);
      } else {
        this.#forget(ep);
      }
    }
    this.#all = next;
    this.#changed();
    for (const ep of removed) for (const o of this.#observers) o.onRemoved?.(ep);
    for (const ep of added) for (const o of this.#observers) o.onAdded?.(ep);
  }

  /** Replaces the membership with what the control plane announced. */
  updateFromProto(endpoints: ServiceEndpoints): void {
    this.update(endpoints.endpoints.map(endpointInitFromProto));
  }

  /** The endpoints to pick from under `policy`; the same object until something changes. */
  view(policy: ViewPolicy = defaultViewPolicy): EndpointView {
    const cached = this.#view;
    if (cached && this.#viewVersion === this.#version && this.#viewPolicy === policy) return cached;
    const view = computeView(this.#all, policy);
    this.#view = view;
    this.#viewPolicy = policy;
    this.#viewVersion = this.#version;
    return view;
  }

  /** A call was sent to `ep`. */
  onStart(ep: EndpointState): void {
    ep.inFlight++;
    const observers = this.#observers;
    for (let i = 0; i < observers.length; i++) observers[i]?.onStart?.(ep);
  }

  /**
   * A call to `ep` settled after `latencyMs`; `success` as in EndpointObserver.onEnd. `now`
   * saves a clock read when the caller has just made one.
   */
  onEnd(ep: EndpointState, latencyMs: number, success: boolean, now: number = this.clock.now()): void {
    ep.inFlight--;
    observeLatency(ep, now, latencyMs, this.ewmaDecayMs);
    const observers = this.#observers;
    for (let i = 0; i < observers.length; i++) observers[i]?.onEnd?.(ep, latencyMs, success);
    if (ep.inFlight === 0 && this.#leaving.has(ep)) {
      this.#all = this.#all.filter((e) => e !== ep);
      this.#forget(ep);
      this.#changed();
    }
  }

  /** Active health checks' verdict on `ep`. */
  setHealthy(ep: EndpointState, healthy: boolean): void {
    if (ep.healthy === healthy) return;
    ep.healthy = healthy;
    this.#changed();
  }

  /** Outlier detection takes `ep` out of rotation for `durationMs`. */
  eject(ep: EndpointState, durationMs: number): void {
    if (!(durationMs > 0)) return;
    const old = this.#unejectTimers.get(ep);
    if (old) this.clock.clearTimeout(old);
    ep.ejectedUntil = this.clock.now() + durationMs;
    this.#unejectTimers.set(
      ep,
      this.clock.setTimeout(() => this.uneject(ep), durationMs, { background: true }),
    );
    this.#changed();
  }

  /** Puts an ejected endpoint back into rotation. */
  uneject(ep: EndpointState): void {
    const timer = this.#unejectTimers.get(ep);
    if (timer) this.clock.clearTimeout(timer);
    this.#unejectTimers.delete(ep);
    if (ep.ejectedUntil === 0) return;
    ep.ejectedUntil = 0;
    this.#changed();
  }

  /** Endpoints currently ejected, draining ones excluded. */
  get ejectedCount(): number {
    let n = 0;
    for (const ep of this.#all) if (ep.ejected && !ep.draining) n++;
    return n;
  }

  /** Endpoints that are not draining. */
  get memberCount(): number {
    let n = 0;
    for (const ep of this.#all) if (!ep.draining) n++;
    return n;
  }

  /** Starts telling `observer` about calls and membership; returns what stops it. */
  observe(observer: EndpointObserver): () => void {
    this.#observers = [...this.#observers, observer];
    if (observer.onAdded) for (const ep of this.#all) if (!ep.draining) observer.onAdded(ep);
    return () => {
      this.#observers = this.#observers.filter((o) => o !== observer);
    };
  }

  /** Cancels the set's timers (pending un-ejections). */
  close(): void {
    for (const timer of this.#unejectTimers.values()) this.clock.clearTimeout(timer);
    this.#unejectTimers.clear();
  }

  #forget(ep: EndpointState): void {
    this.#leaving.delete(ep);
    if (this.#byKey.get(ep.key) === ep) this.#byKey.delete(ep.key);
    const timer = this.#unejectTimers.get(ep);
    if (timer) this.clock.clearTimeout(timer);
    this.#unejectTimers.delete(ep);
  }

  #changed(): void {
    this.#version++;
  }
}
