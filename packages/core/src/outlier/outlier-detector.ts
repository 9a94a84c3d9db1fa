import type { TimerHandle } from "../clock/clock.ts";
import type { EndpointObserver, EndpointSet } from "../endpoints/endpoint-set.ts";
import type { EndpointState } from "../endpoints/endpoint-state.ts";
import { type OutlierOptions, type ResolvedOutlierOptions, resolveOutlierOptions } from "./options.ts";

/** Why an endpoint was ejected. */
export type EjectionReason = "consecutive_failures" | "success_rate";

export interface Ejection {
  readonly endpoint: EndpointState;
  readonly reason: EjectionReason;
  readonly durationMs: number;
  /** How many times in a row (without relaxing) the endpoint has been ejected, this one included. */
  readonly times: number;
}

/** Per-endpoint counters. */
interface Monitor {
  consecutiveFailures: number;
  /** Calls and successes in the current interval, for success-rate ejection. */
  successes: number;
  calls: number;
  /** Ejection multiplier: the next ejection lasts base * (times + 1). */
  times: number;
  /** When the last ejection ended (or ends). */
  releasedAt: number;
}

/**
 * Passive health for one endpoint set, after Envoy's outlier detection. An endpoint is
 * ejected (not picked) when it fails `consecutiveFailures` times in a row, or when at an
 * interval its success rate falls below mean - factor * stdev of its peers'. The n-th
 * ejection lasts n * base (capped at max); the multiplier relaxes by one for every interval
 * the endpoint stays in rotation. No more than maxEjectionPercent of the endpoints are ejected
 * at once (one always may be). Only the endpoint's faults count (see endpointFailed):
 * application errors such as NOT_FOUND do not.
 */
export class OutlierDetector {
  readonly options: ResolvedOutlierOptions;
  readonly #set: EndpointSet;
  readonly #monitors = new WeakMap<EndpointState, Monitor>();
  readonly #onEjection: ((e: Ejection) => void) | undefined;
  readonly #stopObserving: () => void;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(set: EndpointSet, options: OutlierOptions = {}, onEjection?: (e: Ejection) => void) {
    this.options = resolveOutlierOptions(options);
    this.#set = set;
    this.#onEjection = onEjection;
    const observer: EndpointObserver = { onEnd: (ep, _latency, success) => this.#record(ep, success) };
    this.#stopObserving = set.observe(observer);
    this.#schedule();
  }

  /** Stops observing the set and the interval timer; ejected endpoints still come back on time. */
  close(): void {
    this.#closed = true;
    this.#stopObserving();
    if (this.#timer) this.#set.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Runs the interval's work now: success-rate ejection, multiplier relaxing, counters reset. */
  sweep(): void {
    const now = this.#set.clock.now();
    const o = this.options;
    const members = this.#set.all.filter((ep) => !ep.draining);
    for (const ep of members) {
      const m = this.#monitors.get(ep);
      if (m && m.times > 0 && !ep.ejected && now - m.releasedAt >= o.intervalMs) m.times--;
    }
    if (o.successRateStdevFactor > 0) this.#successRateEjections(members);
    for (const ep of members) {
      const m = this.#monitors.get(ep);
      if (m) {
        m.calls = 0;
        m.successes = 0;
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#set.clock.setTimeout(
      () => {
        this.sweep();
        this.#schedule();
      },
      this.options.intervalMs,
      { background: true },
    );
  }

  #monitor(ep: EndpointState): Monitor {
    let m = this.#monitors.get(ep);
    if (!m) {
      m = { consecutiveFailures: 0, successes: 0, calls: 0, times: 0, releasedAt: 0 };
      this.#monitors.set(ep, m);
    }
    return m;
  }

  #record(ep: EndpointState, success: boolean): void {
    const m = this.#monitor(ep);
    m.calls++;
    if (success) {
      m.successes++;
      m.consecutiveFailures = 0;
      return;
    }
    m.consecutiveFailures++;
    const limit = this.options.consecutiveFailures;
    // Calls that were in flight when the endpoint was ejected do not extend the ejection.
    if (limit > 0 && m.consecutiveFailures >= limit && !ep.ejected && !ep.draining) {
      this.#eject(ep, m, "consecutive_failures");
    }
  }

  #successRateEjections(members: readonly EndpointState[]): void {
    const o = this.options;
    const rated: { ep: EndpointState; m: Monitor; rate: number }[] = [];
    for (const ep of members) {
      const m = this.#monitors.get(ep);
      if (!m || ep.ejected || m.calls < o.successRateRequestVolume || m.calls === 0) continue;
      rated.push({ ep, m, rate: m.successes / m.calls });
    }
    if (rated.length < Math.max(o.successRateMinimumHosts, 1)) return;
    let sum = 0;
    for (const r of rated) sum += r.rate;
    const mean = sum / rated.length;
    let sq = 0;
    for (const r of rated) sq += (r.rate - mean) ** 2;
    const threshold = mean - o.successRateStdevFactor * Math.sqrt(sq / rated.length);
    // Worst first, so the ejection cap keeps out the endpoints that fail most.
    rated.sort((a, b) => a.rate - b.rate);
    for (const r of rated) {
      if (r.rate >= threshold) break;
      if (!this.#eject(r.ep, r.m, "success_rate")) break;
    }
  }

  #eject(ep: EndpointState, m: Monitor, reason: EjectionReason): boolean {
    const o = this.options;
    const set = this.#set;
    if (set.ejectedCount * 100 >= o.maxEjectionPercent * set.memberCount) return false;
    const cap = Math.max(o.baseEjectionMs, o.maxEjectionMs);
    // The multiplier stops growing once the cap is reached, so relaxing starts from the cap.
    if (o.baseEjectionMs * m.times < cap) m.times++;
    const durationMs = Math.min(o.baseEjectionMs * m.times, cap);
    m.consecutiveFailures = 0;
    m.releasedAt = set.clock.now() + durationMs;
    set.eject(ep, durationMs);
    this.#onEjection?.({ endpoint: ep, reason, durationMs, times: m.times });
    return true;
  }
}
