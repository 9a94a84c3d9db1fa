import type { EndpointRef } from "../call/call.ts";
import type { TimerHandle } from "../clock/clock.ts";
import type { EndpointObserver, EndpointSet } from "../endpoints/endpoint-set.ts";
import type { EndpointState } from "../endpoints/endpoint-state.ts";
import {
  type HealthCheckOptions,
  type ResolvedHealthCheckOptions,
  resolveHealthCheckOptions,
} from "./options.ts";

/**
 * Checks one endpoint: resolves true when it is healthy. It must give up when `signal`
 * aborts (timeout or shutdown); a rejection counts as a failed check. The socket probes
 * (HTTP, gRPC health, TCP) live in the transports.
 */
export type Probe = (endpoint: EndpointRef, signal: AbortSignal) => Promise<boolean>;

export interface HealthCheckerHooks {
  /** Source of uniform numbers in [0, 1) for jitter; injected so tests are deterministic. */
  readonly random?: () => number;
  /** Told when the checker changes an endpoint's health. */
  readonly onChange?: (endpoint: EndpointState, healthy: boolean) => void;
}

interface Target {
  readonly ep: EndpointState;
  successes: number;
  failures: number;
  timer: TimerHandle | undefined;
  controller: AbortController | undefined;
  running: Promise<void> | undefined;
  stopped: boolean;
}

/**
 * Active health checks of one endpoint set: each endpoint is probed every interval (the
 * first time at a random point of the first interval), a probe that does not answer within
 * the timeout fails, and the endpoint turns unhealthy after `unhealthyThreshold` failures
 * in a row and healthy again after `healthyThreshold` successes in a row. Endpoints joining
 * the set are picked up, leaving ones dropped. Endpoints start healthy: the checks take
 * them out, not in.
 */
export class HealthChecker {
  readonly options: ResolvedHealthCheckOptions;
  readonly #set: EndpointSet;
  readonly #probe: Probe;
  readonly #random: () => number;
  readonly #onChange: ((endpoint: EndpointState, healthy: boolean) => void) | undefined;
  readonly #targets = new Map<EndpointState, Target>();
  #stopObserving: (() => void) | undefined;

  constructor(set: EndpointSet, probe: Probe, options: HealthCheckOptions, hooks: HealthCheckerHooks = {}) {
    this.options = resolveHealthCheckOptions(options);
    this.#set = set;
    this.#probe = probe;
    this.#random = hooks.random ?? Math.random;
    this.#onChange = hooks.onChange;
  }

  /** Starts checking the set's endpoints (and those that join later). */
  start(): void {
    if (this.#stopObserving) return;
    const observer: EndpointObserver = {
      onAdded: (ep) => this.#add(ep),
      onRemoved: (ep) => this.#remove(ep),
    };
    this.#stopObserving = this.#set.observe(observer);
  }

  /**
   * Stops every check: timers cancelled, probes in flight aborted and awaited. Endpoints the
   * checker had marked unhealthy are marked healthy again, since nothing would ever bring
   * them back otherwise.
   */
  async stop(): Promise<void> {
    this.#stopObserving?.();
    this.#stopObserving = undefined;
    const running: Promise<void>[] = [];
    for (const target of this.#targets.values()) {
      this.#halt(target);
      if (target.running) running.push(target.running);
      this.#setHealthy(target.ep, true);
    }
    this.#targets.clear();
    await Promise.all(running);
  }

  #add(ep: EndpointState): void {
    if (this.#targets.has(ep)) return;
    const target: Target = {
      ep,
      successes: 0,
      failures: 0,
      timer: undefined,
      controller: undefined,
      running: undefined,
      stopped: false,
    };
    this.#targets.set(ep, target);
    this.#schedule(target, this.#random() * this.options.intervalMs);
  }

  #remove(ep: EndpointState): void {
    const target = this.#targets.get(ep);
    if (!target) return;
    this.#halt(target);
    this.#targets.delete(ep);
  }

  #halt(target: Target): void {
    target.stopped = true;
    if (target.timer) this.#set.clock.clearTimeout(target.timer);
    target.timer = undefined;
    target.controller?.abort(new Error(`health checks of ${target.ep.key} stopped`));
  }

  #schedule(target: Target, delayMs: number): void {
    target.timer = this.#set.clock.setTimeout(
      () => {
        target.timer = undefined;
        target.running = this.#check(target);
      },
      delayMs,
      { background: true },
    );
  }

  async #check(target: Target): Promise<void> {
    const clock = this.#set.clock;
    const { timeoutMs, intervalMs, intervalJitterMs } = this.options;
    const controller = new AbortController();
    target.controller = controller;
    const aborted = new Promise<boolean>((resolve) => {
      controller.signal.addEventListener("abort", () => resolve(false), { once: true });
    });
    const timer = clock.setTimeout(
      () => controller.abort(new Error(`health check of ${target.ep.key} timed out after ${timeoutMs} ms`)),
      timeoutMs,
      { background: true },
    );
    let healthy: boolean;
    try {
      const probed = this.#probe(target.ep.ref, controller.signal).then(
        (ok) => ok === true,
        () => false,
      );
      healthy = await Promise.race([probed, aborted]);
    } catch {
      // The probe threw before returning a promise.
      healthy = false;
    } finally {
      clock.clearTimeout(timer);
    }
    target.controller = undefined;
    target.running = undefined;
    if (target.stopped) return;
    this.#record(target, healthy);
    this.#schedule(target, intervalMs + (intervalJitterMs > 0 ? this.#random() * intervalJitterMs : 0));
  }

  #record(target: Target, healthy: boolean): void {
    const { healthyThreshold, unhealthyThreshold } = this.options;
    if (healthy) {
      target.failures = 0;
      target.successes++;
      if (!target.ep.healthy && target.successes >= healthyThreshold) this.#setHealthy(target.ep, true);
    } else {
      target.successes = 0;
      target.failures++;
      if (target.ep.healthy && target.failures >= unhealthyThreshold) this.#setHealthy(target.ep, false);
    }
  }

  #setHealthy(ep: EndpointState, healthy: boolean): void {
    if (ep.healthy === healthy) return;
    this.#set.setHealthy(ep, healthy);
    this.#onChange?.(ep, healthy);
  }
}
