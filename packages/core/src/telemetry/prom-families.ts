import { Counter, Gauge, type Metric, type Registry } from "prom-client";

/**
 * Metric families whose values live in plain objects updated on the hot path and are
 * handed to prom-client only when the registry is scraped. prom-client's own children
 * hash their label set on every inc/observe (about 1 µs each, measured), which alone
 * would exceed the chain's per-call budget; here a call costs a few number writes.
 */

export type Labels = Readonly<Record<string, string>>;

export class CounterSeries {
  value = 0;
  readonly labels: Labels;

  constructor(labels: Labels) {
    this.labels = labels;
  }
}

/** A counter (or gauge) family: series are created once and kept for the registry's life. */
export class ValueFamily {
  readonly #series: CounterSeries[] = [];

  constructor(
    registry: Registry,
    kind: "counter" | "gauge",
    name: string,
    help: string,
    labelNames: string[],
  ) {
    const series = this.#series;
    if (kind === "counter") {
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const s of series) this.inc(s.labels, s.value);
        },
      });
    } else {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const s of series) this.set(s.labels, s.value);
        },
      });
    }
  }

  series(labels: Labels): CounterSeries {
    const s = new CounterSeries(labels);
    this.#series.push(s);
    return s;
  }
}

export class HistogramSeries {
  /** Per-bucket (not cumulative) counts; the last one is the +Inf overflow. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly labels: Labels;
  readonly #bounds: readonly number[];

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    const counts = this.counts;
    counts[i] = (counts[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
  }
}

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels: Labels | undefined;
  metricName: string;
}

interface ExportedMetric {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: ExportedValue[];
}

/**
 * A histogram family registered in a prom-client Registry. prom-client has no public way
 * to load bucket counts in bulk, so this object speaks the Registry's metric protocol
 * (`get()` returning values with `metricName`, `labels` and `sharedLabels`, the shape
 * prom-client's own Histogram returns) instead of wrapping its Histogram class.
 */
export class HistogramFamily {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly labelNames: readonly string[];
  readonly #bounds: readonly number[];
  readonly #series: HistogramSeries[] = [];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: string[],
    bounds: readonly number[],
  ) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number))) {
        throw new RangeError(`histogram ${name}: buckets must increase, got ${bounds.join(", ")}`);
      }
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.#bounds = bounds;
    registry.registerMetric(this as unknown as Metric);
  }

  series(labels: Labels): HistogramSeries {
    const s = new HistogramSeries(labels, this.#bounds);
    this.#series.push(s);
    return s;
  }

  /** Values live in the series, which only MeshMetrics owns; a registry reset leaves them. */
  reset(): void {}

  /** The Registry's exposition path: series labels as `sharedLabels`, as prom-client's Histogram does. */
  async getForPromString(): Promise<ExportedMetric> {
    return this.#export();
  }

  /** The JSON path (getMetricsAsJSON, cluster aggregation): labels merged. */
  async get(): Promise<ExportedMetric> {
    const metric = this.#export();
    for (const v of metric.values) {
      v.labels = { ...v.sharedLabels, ...v.labels };
      v.sharedLabels = undefined;
    }
    return metric;
  }

  #export(): ExportedMetric {
    const bucket = `${this.name}_bucket`;
    const values: ExportedValue[] = [];
    for (const s of this.#series) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i] ?? 0;
        values.push({
          value: cumulative,
          labels: { le: this.#bounds[i] as number },
          sharedLabels: s.labels,
          metricName: bucket,
        });
      }
      values.push({ value: s.count, labels: { le: "+Inf" }, sharedLabels: s.labels, metricName: bucket });
      values.push({ value: s.sum, labels: {}, sharedLabels: s.labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: {}, sharedLabels: s.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
