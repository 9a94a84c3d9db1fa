/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format (0.0.4): comments skipped, label values unescaped. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL))
      labels[l[1] as string] = (l[2] as string).replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Which series of a mesh member's metrics make up one row of the view. */
export type SeriesFilter = Readonly<Record<string, string>>;

const matches = (s: Sample, f: SeriesFilter) => Object.entries(f).every(([k, v]) => s.labels[k] === v);

/** Cumulative counters of one service as one mesh member reports them. */
export interface Totals {
  requests: number;
  failures: number;
  retries: number;
  ejections: number;
  /** Cumulative histogram: upper bound (s) -> count. */
  buckets: Map<number, number>;
}

export const emptyTotals = (): Totals => ({
  requests: 0,
  failures: 0,
  retries: 0,
  ejections: 0,
  buckets: new Map(),
});

/**
 * A failure as the mesh counts one: a gRPC/Connect code other than ok, or, for plain HTTP
 * (no code), a 5xx.
 */
const failed = (labels: Readonly<Record<string, string>>) =>
  labels.code ? labels.code !== "ok" : labels.status_class === "5xx";

/** Sums weft_requests_total, weft_retries_total, ejections and the latency histogram over `filter`. */
export function totals(samples: readonly Sample[], filter: SeriesFilter): Totals {
  const t = emptyTotals();
  for (const s of samples) {
    if (!matches(s, filter)) continue;
    switch (s.name) {
      case "weft_requests_total":
        t.requests += s.value;
        if (failed(s.labels)) t.failures += s.value;
        break;
      case "weft_retries_total":
        t.retries += s.value;
        break;
      case "weft_endpoint_ejections_total":
        t.ejections += s.value;
        break;
      case "weft_request_duration_seconds_bucket": {
        const le = s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le);
        t.buckets.set(le, (t.buckets.get(le) ?? 0) + s.value);
        break;
      }
    }
  }
  return t;
}

/**
 * `later - earlier`, per counter. A counter that went down means the process restarted (the
 * killed replica): then the later value is all new.
 */
export function delta(later: Totals, earlier: Totals): Totals {
  const d = (a: number, b: number) => (a >= b ? a - b : a);
  const restarted = later.requests < earlier.requests;
  const buckets = new Map<number, number>();
  for (const [le, n] of later.buckets) buckets.set(le, restarted ? n : d(n, earlier.buckets.get(le) ?? 0));
  return {
    requests: d(later.requests, earlier.requests),
    failures: restarted ? later.failures : d(later.failures, earlier.failures),
    retries: d(later.retries, earlier.retries),
    ejections: d(later.ejections, earlier.ejections),
    buckets,
  };
}

export function add(a: Totals, b: Totals): Totals {
  const buckets = new Map(a.buckets);
  for (const [le, n] of b.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  return {
    requests: a.requests + b.requests,
    failures: a.failures + b.failures,
    retries: a.retries + b.retries,
    ejections: a.ejections + b.ejections,
    buckets,
  };
}

/**
 * A quantile (0..1) in ms from a cumulative histogram, interpolated inside the bucket as
 * Prometheus' histogram_quantile does; undefined without observations.
 */
export function quantileMs(buckets: ReadonlyMap<number, number>, q: number): number | undefined {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevLe * 1000;
      const inBucket = count - prevCount;
      const frac = inBucket > 0 ? (rank - prevCount) / inBucket : 1;
      return (prevLe + (le - prevLe) * frac) * 1000;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe * 1000;
}
