import {
  add,
  delta,
  emptyTotals,
  parsePrometheus,
  quantileMs,
  type Sample,
  type SeriesFilter,
  type Totals,
  totals,
} from "./prometheus.ts";

/** Where one mesh member's Prometheus text comes from. */
export interface MetricsSource {
  readonly name: string;
  /** Shown to the user: where to scrape it. */
  readonly url: string;
  read(): Promise<string>;
}

/** One row of the live view: a service (or replica) as its own data plane and its callers see it. */
export interface RowSpec {
  readonly name: string;
  readonly mode: "in-process" | "sidecar";
  readonly protocol: string;
  identity(): string;
  /** The data plane serving it, and which of its series are this row. */
  readonly served: { source: () => MetricsSource; filter: SeriesFilter };
  /** Retries made by its callers towards it. */
  readonly retriedBy?: { source: () => MetricsSource; filter: SeriesFilter };
}

/** One second of one row. */
export interface RowSecond {
  readonly up: boolean;
  readonly rps: number;
  readonly successRate: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly retriesPerSecond: number;
}

interface RowState {
  readonly spec: RowSpec;
  last: Totals | undefined;
  lastRetries: Totals | undefined;
  /** Sum of every interval's delta: survives a restart of the process behind the row. */
  total: Totals;
  retries: number;
  /** Endpoints of this row's service that its callers ejected. */
  ejections: number;
  now: RowSecond;
}

/**
 * Scrapes every mesh member's metrics once a second and turns the counters into per-second
 * rates, success rates and latency percentiles per row, and into run totals for the summary.
 */
export class Monitor {
  readonly #rows: RowState[];
  #lastAt = 0;

  constructor(rows: readonly RowSpec[]) {
    this.#rows = rows.map((spec) => ({
      spec,
      last: undefined,
      lastRetries: undefined,
      total: emptyTotals(),
      retries: 0,
      ejections: 0,
      now: {
        up: false,
        rps: 0,
        successRate: undefined,
        p50Ms: undefined,
        p99Ms: undefined,
        retriesPerSecond: 0,
      },
    }));
  }

  async sample(): Promise<void> {
    const at = performance.now();
    const seconds = this.#lastAt === 0 ? 1 : (at - this.#lastAt) / 1000;
    this.#lastAt = at;
    const texts = new Map<MetricsSource, Promise<Sample[] | undefined>>();
    const read = (s: MetricsSource) => {
      let p = texts.get(s);
      if (!p) {
        p = s.read().then(parsePrometheus, () => undefined);
        texts.set(s, p);
      }
      return p;
    };
    await Promise.all(
      this.#rows.map(async (row) => {
        const served = await read(row.spec.served.source());
        const retried = row.spec.retriedBy ? await read(row.spec.retriedBy.source()) : undefined;
        let retriesPerSecond = 0;
        if (retried && row.spec.retriedBy) {
          const t = totals(retried, row.spec.retriedBy.filter);
          const d = row.lastRetries ? delta(t, row.lastRetries) : t;
          row.retries += d.retries;
          row.ejections += d.ejections;
          row.lastRetries = t;
          retriesPerSecond = d.retries / seconds;
        }
        if (!served) {
          row.now = { ...row.now, up: false, rps: 0, retriesPerSecond };
          return;
        }
        const t = totals(served, row.spec.served.filter);
        const d = row.last ? delta(t, row.last) : t;
        row.last = t;
        row.total = add(row.total, d);
        row.now = {
          up: true,
          rps: d.requests / seconds,
          successRate: d.requests > 0 ? 1 - d.failures / d.requests : undefined,
          p50Ms: quantileMs(d.buckets, 0.5),
          p99Ms: quantileMs(d.buckets, 0.99),
          retriesPerSecond,
        };
      }),
    );
  }

  rows(): { spec: RowSpec; now: RowSecond; total: Totals; retries: number; ejections: number }[] {
    return this.#rows.map((r) => ({
      spec: r.spec,
      now: r.now,
      total: r.total,
      retries: r.retries,
      ejections: r.ejections,
    }));
  }

  row(name: string) {
    return this.rows().find((r) => r.spec.name === name);
  }
}
