import type { Code } from "@connectrpc/connect";
import type { MeshCall, MeshResponse } from "../call/call.ts";
import { filterStep } from "../chain/chain.ts";
import type { Exchange, Filter, FilterRun } from "../chain/filter.ts";
import { definePlugin, type PluginContext, type PluginDefinition } from "../chain/plugin.ts";
import type { Clock } from "../clock/clock.ts";
import type { MeshError } from "../errors/mesh-error.ts";
import { attemptsStarted } from "../resilience/attributes.ts";
import type { MeshMetrics, PlaceSeries, ServiceSeries } from "./mesh-metrics.ts";
import { rejectUnknownOptions } from "./options.ts";
import {
  codeIndex,
  codeOfError,
  codeOfOutcome,
  isFailure,
  statusClassIndex,
  statusOfError,
} from "./outcome.ts";
import type { CounterSeries } from "./prom-families.ts";

// biome-ignore lint/complexity/noBannedTypes: the metrics plugin has no options yet; config may pass `{}`.
export type MetricsPluginOptions = {};

/**
 * The `metrics` step, recording into `metrics`. It times a call from entering the step to
 * `response.settled` (streams are timed to their end) on the context's clock, so put it
 * outermost to measure what the caller sees, retries included.
 */
export function metricsPlugin(metrics: MeshMetrics): PluginDefinition<MetricsPluginOptions> {
  return definePlugin<MetricsPluginOptions>({
    name: "metrics",
    parseOptions(raw) {
      rejectUnknownOptions("metrics", raw, []);
      return {};
    },
    create(_options, ctx) {
      return filterStep(metricsFilter(metrics, ctx), ctx.place, "metrics");
    },
  });
}

/** The metrics step's phased form (see metricsPlugin). */
function metricsFilter(metrics: MeshMetrics, ctx: PluginContext): Filter {
  const place: PlaceMetrics = {
    metrics,
    series: metrics.forPlace(ctx.place),
    clock: ctx.clock,
    windowClock: metrics.clock,
    outbound: ctx.place === "client" || ctx.place === "sidecar-outbound",
    localService: ctx.service || "unknown",
  };
  const open = (call: MeshCall): MetricsExchange => {
    // The caller: this service when sending; on receipt, the service account of the
    // certificate the caller presented (never a header, never an address).
    const peer = place.outbound ? place.localService : (call.source?.serviceAccount ?? "unknown");
    return new MetricsExchange(place, call, peer, call.startedAt ?? place.clock.now());
  };
  return { bind: () => open };
}

interface PlaceMetrics {
  readonly metrics: MeshMetrics;
  readonly series: PlaceSeries;
  readonly clock: Clock;
  readonly windowClock: Clock;
  readonly outbound: boolean;
  readonly localService: string;
}

/** One call being counted: in flight from entering the step until its response settles. */
class MetricsExchange implements Exchange {
  readonly call: MeshCall;
  readonly #place: PlaceMetrics;
  readonly #peer: string;
  readonly #start: number;
  readonly #service: ServiceSeries;
  readonly #flight: CounterSeries;

  constructor(place: PlaceMetrics, call: MeshCall, peer: string, start: number) {
    this.call = call;
    this.#place = place;
    this.#peer = peer;
    this.#start = start;
    this.#service = place.series.service(call.service, call.namespace);
    this.#flight = this.#service.inFlight(peer);
    this.#flight.value++;
  }

  answered(response: MeshResponse, run: FilterRun): MeshResponse {
    const outcome = response.outcome;
    if (outcome !== undefined)
      this.#finish(codeOfOutcome(outcome), outcome.status, run.now(this.#place.clock));
    else {
      const clock = this.#place.clock;
      response.settled.then(
        (o) => this.#finish(codeOfOutcome(o), o.status, clock.now()),
        (err: unknown) => this.#finish(codeOfError(err), statusOfError(err), clock.now()),
      );
    }
    return response;
  }

  failed(error: MeshError, run: FilterRun): never {
    this.#finish(codeOfError(error), statusOfError(error), run.now(this.#place.clock));
    throw error;
  }

  #finish(code: Code | undefined, status: number, end: number): void {
    const { metrics, clock, windowClock } = this.#place;
    const call = this.call;
    this.#flight.value--;
    const retries = attemptsStarted(call.attributes) - 1;
    if (retries > 0) metrics.recordRetries(call, retries);
    const ms = end - this.#start;
    const c = codeIndex(code);
    this.#service.edge(call.route ?? "", this.#peer).complete(c, statusClassIndex(status), ms / 1000);
    this.#service.window.record(clock === windowClock ? end : windowClock.now(), ms, isFailure(code, status));
  }
}
