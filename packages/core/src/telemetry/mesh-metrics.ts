import { Registry } from "prom-client";
import type { MeshCall, Place } from "../call/call.ts";
import { type Clock, systemClock } from "../clock/clock.ts";
import { RollingWindow, type RollingWindowOptions, type WindowStats } from "./latency-window.ts";
import { codeLabel, NO_CODE, statusClassLabel } from "./outcome.ts";
import { type CounterSeries, HistogramFamily, type HistogramSeries, ValueFamily } from "./prom-families.ts";

/** Seconds; from half a millisecond (in-process hops) to 30 s (long unary calls). */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** An endpoint ejected by outlier detection. `reason` is a fixed name, e.g. "consecutive_5xx". */
export interface EjectionEvent {
  readonly place: Place;
  readonly service: string;
  readonly namespace: string;
  readonly reason: string;
}

/** What other steps of the chain report to telemetry. */
export interface TelemetryHooks {
  recordEjection(event: EjectionEvent): void;
}

/** Hooks that record nothing. */
export const noTelemetryHooks: TelemetryHooks = {
  recordEjection() {},
};

export interface ServiceTraffic extends WindowStats {
  readonly place: Place;
  readonly service: string;
  readonly namespace: string;
  /** Calls currently between entering the metrics step and settling. */
  readonly inFlight: number;
}

export interface TrafficSnapshot {
  readonly windowMs: number;
  readonly services: ServiceTraffic[];
}

export interface MeshMetricsOptions {
  /** Clock of the rolling windows behind snapshot(); durations use the plugin context's clock. */
  clock?: Clock;
  /** Registry to register in; a new one by default (never prom-client's global registry). */
  registry?: Registry;
  window?: RollingWindowOptions;
}

/**
 * Golden signals of one mesh member, per place, service, route and caller. Owns its own
 * prom-client Registry so two meshes in one process never collide.
 *
 * Labels: `service`/`namespace` name the service a call is addressed to, `peer` the
 * calling service (the local service on the outbound side, the caller's service account
 * from its certificate on the inbound side), so a series is one caller -> callee edge.
 * Addresses and instance IDs never become labels.
 */
export class MeshMetrics implements TelemetryHooks {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly #requests: ValueFamily;
  readonly #duration: HistogramFamily;
  readonly #inFlight: ValueFamily;
  readonly #retries: ValueFamily;
  readonly #ejections: ValueFamily;
  readonly #ejectionSeries = new Map<string, CounterSeries>();
  readonly #places = new Map<Place, PlaceSeries>();
  readonly #window: RollingWindowOptions;

  constructor(options: MeshMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.clock = options.clock ?? systemClock;
    this.#window = options.window ?? {};
    const r = this.registry;
    this.#requests = new ValueFamily(r, "counter", "weft_requests_total", "Calls completed, by outcome.", [
      "place",
      "service",
      "namespace",
      "route",
      "peer",
      "code",
      "status_class",
    ]);
    this.#duration = new HistogramFamily(
      r,
      "weft_request_duration_seconds",
      "Time from entering the metrics step to the response being fully delivered.",
      ["place", "service", "namespace", "route", "peer", "status_class"],
      DURATION_BUCKETS,
    );
    this.#inFlight = new ValueFamily(
      r,
      "gauge",
      "weft_requests_in_flight",
      "Calls started and not yet settled.",
      ["place", "service", "namespace", "peer"],
    );
    this.#retries = new ValueFamily(r, "counter", "weft_retries_total", "Attempts beyond the first.", [
      "place",
      "service",
      "namespace",
      "route",
    ]);
    this.#ejections = new ValueFamily(
      r,
      "counter",
      "weft_endpoint_ejections_total",
      "Endpoints ejected by outlier detection.",
      ["place", "service", "namespace", "reason"],
    );
  }

  /** Prometheus text exposition of this mesh's registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Counts `retries` attempts of `call` beyond the first (retries or hedges). */
  recordRetries(call: MeshCall, retries: number): void {
    const svc = this.forPlace(call.place).service(call.service, call.namespace);
    svc.retry(call.route ?? "").value += retries;
    const now = this.clock.now();
    for (let i = 0; i < retries; i++) svc.window.recordRetry(now);
  }

  recordEjection(event: EjectionEvent): void {
    // Reasons become label values: anything but a short snake_case name is folded into
    // "other" so a caller passing free text cannot grow the series without bound.
    const reason = /^[a-z0-9_]{1,48}$/.test(event.reason) ? event.reason : "other";
    const key = `${event.place}\u0000${event.namespace}\u0000${event.service}\u0000${reason}`;
    let s = this.#ejectionSeries.get(key);
    if (!s) {
      s = this.#ejections.series({
        place: event.place,
        service: event.service,
        namespace: event.namespace,
        reason,
      });
      this.#ejectionSeries.set(key, s);
    }
    s.value++;
  }

  /** Request rate, success rate and latency percentiles per place and service over the last `windowMs`. */
  snapshot(options: { windowMs?: number } = {}): TrafficSnapshot {
    const now = this.clock.now();
    const services: ServiceTraffic[] = [];
    let windowMs = options.windowMs;
    for (const place of this.#places.values()) {
      for (const svc of place.all()) {
        const w = windowMs ?? svc.window.spanMs;
        windowMs = w;
        const stats = svc.window.stats(now, w);
        const inFlight = svc.inFlightTotal();
        if (stats.requests === 0 && stats.retries === 0 && inFlight === 0) continue;
        services.push({
          ...stats,
          place: place.place,
          service: svc.service,
          namespace: svc.namespace,
          inFlight,
        });
      }
    }
    return { windowMs: windowMs ?? 0, services };
  }

  /** The series of one place; the metrics plugin holds it for its whole life. */
  forPlace(place: Place): PlaceSeries {
    let p = this.#places.get(place);
    if (!p) {
      p = new PlaceSeries(place, {
        requests: this.#requests,
        duration: this.#duration,
        inFlight: this.#inFlight,
        retries: this.#retries,
        window: this.#window,
        clock: this.clock,
      });
      this.#places.set(place, p);
    }
    return p;
  }
}

interface Families {
  readonly requests: ValueFamily;
  readonly duration: HistogramFamily;
  readonly inFlight: ValueFamily;
  readonly retries: ValueFamily;
  readonly window: RollingWindowOptions;
  readonly clock: Clock;
}

/** Series of one place, by namespace then service (nested maps: no key strings per call). */
export class PlaceSeries {
  readonly place: Place;
  readonly #families: Families;
  readonly #byNamespace = new Map<string, Map<string, ServiceSeries>>();
  #last: ServiceSeries | undefined;

  constructor(place: Place, families: Families) {
    this.place = place;
    this.#families = families;
  }

  service(service: string, namespace: string): ServiceSeries {
    // Most chains talk to one service in one namespace: a one-entry cache skips two lookups.
    const last = this.#last;
    if (last !== undefined && last.service === service && last.namespace === namespace) return last;
    let byService = this.#byNamespace.get(namespace);
    if (!byService) {
      byService = new Map();
      this.#byNamespace.set(namespace, byService);
    }
    let s = byService.get(service);
    if (!s) {
      s = new ServiceSeries(this.place, service, namespace, this.#families);
      byService.set(service, s);
    }
    this.#last = s;
    return s;
  }

  *all(): Iterable<ServiceSeries> {
    for (const byService of this.#byNamespace.values()) yield* byService.values();
  }
}

export class ServiceSeries {
  readonly place: Place;
  readonly service: string;
  readonly namespace: string;
  readonly window: RollingWindow;
  readonly #families: Families;
  readonly #inFlight = new Map<string, CounterSeries>();
  readonly #edges = new Map<string, Map<string, EdgeSeries>>();
  readonly #retries = new Map<string, CounterSeries>();
  #lastEdge: EdgeSeries | undefined;

  constructor(place: Place, service: string, namespace: string, families: Families) {
    this.place = place;
    this.service = service;
    this.namespace = namespace;
    this.#families = families;
    this.window = new RollingWindow(families.clock.now(), families.window);
  }

  inFlight(peer: string): CounterSeries {
    let s = this.#inFlight.get(peer);
    if (!s) {
      s = this.#families.inFlight.series({
        place: this.place,
        service: this.service,
        namespace: this.namespace,
        peer,
      });
      this.#inFlight.set(peer, s);
    }
    return s;
  }

  inFlightTotal(): number {
    let n = 0;
    for (const s of this.#inFlight.values()) n += s.value;
    return n;
  }

  edge(route: string, peer: string): EdgeSeries {
    const last = this.#lastEdge;
    if (last !== undefined && last.route === route && last.peer === peer) return last;
    let byPeer = this.#edges.get(route);
    if (!byPeer) {
      byPeer = new Map();
      this.#edges.set(route, byPeer);
    }
    let e = byPeer.get(peer);
    if (!e) {
      e = new EdgeSeries(this, route, peer, this.#families);
      byPeer.set(peer, e);
    }
    this.#lastEdge = e;
    return e;
  }

  retry(route: string): CounterSeries {
    let s = this.#retries.get(route);
    if (!s) {
      s = this.#families.retries.series({
        place: this.place,
        service: this.service,
        namespace: this.namespace,
        route,
      });
      this.#retries.set(route, s);
    }
    return s;
  }
}

/** One caller -> callee edge on one route: counters per outcome and latency per status class. */
export class EdgeSeries {
  readonly #svc: ServiceSeries;
  readonly route: string;
  readonly peer: string;
  readonly #families: Families;
  /** Keyed by codeIndex * 8 + statusClassIndex. */
  readonly #outcomes = new Map<number, CounterSeries>();
  readonly #latency: (HistogramSeries | undefined)[] = new Array(6).fill(undefined);

  constructor(svc: ServiceSeries, route: string, peer: string, families: Families) {
    this.#svc = svc;
    this.route = route;
    this.peer = peer;
    this.#families = families;
  }

  /** Counts one completed call; `code` is a codeIndex (NO_CODE for none), `statusClass` a statusClassIndex. */
  complete(code: number, statusClass: number, seconds: number): void {
    const key = code * 8 + statusClass;
    let c = this.#outcomes.get(key);
    if (!c) {
      c = this.#families.requests.series({
        ...this.#base(),
        code: code === NO_CODE ? "" : codeLabel(code),
        status_class: statusClassLabel(statusClass),
      });
      this.#outcomes.set(key, c);
    }
    c.value++;
    let h = this.#latency[statusClass];
    if (!h) {
      h = this.#families.duration.series({ ...this.#base(), status_class: statusClassLabel(statusClass) });
      this.#latency[statusClass] = h;
    }
    h.observe(seconds);
  }

  #base(): Record<string, string> {
    const svc = this.#svc;
    return {
      place: svc.place,
      service: svc.service,
      namespace: svc.namespace,
      route: this.route,
      peer: this.peer,
    };
  }
}
