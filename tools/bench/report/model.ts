/** What one run of the suite measured: the JSON file, and the input of the table and chart writers. */

export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

export interface PathRow {
  /** Unique in a run, e.g. "grpc/weft-2": ratios refer to rows by id. */
  readonly id: string;
  /** What the client speaks, e.g. "HTTP/1.1", "gRPC unary (h2c)", "TCP stream". */
  readonly protocol: string;
  /** The path, e.g. "direct", "weft sidecar, 2 hops", "HAProxy, 1 hop". */
  readonly path: string;
  /** Who made the load: "h2load", "h2load --h1", "in-process client loop", ... */
  readonly generator: string;
  /** "req/s" for request paths, "MiB/s" for byte streams. */
  readonly unit: "req/s" | "MiB/s";
  /** At saturation, in `unit`. */
  readonly throughput: number;
  /** Latency (ms) at `fixedRate` req/s; absent for byte streams. */
  readonly latencyMs?: Percentiles;
  readonly fixedRate?: number;
  /** CPU seconds of the proxies and the app per 10,000 requests (req/s rows) or per GiB (MiB/s rows). */
  readonly cpuSeconds: number;
  /** Peak RSS under load of the processes counted for CPU, MiB. */
  readonly rssMiB: number;
  /** Summed RSS of the path's proxy processes after start-up, before any load, MiB (none: no proxy). */
  readonly proxyIdleRssMiB?: number;
  /** Which processes `cpuSeconds` and `rssMiB` count. */
  readonly counted: string;
  readonly failed: number;
  /** Rows to compare with: the same protocol without the mesh, and HAProxy in the same place. */
  readonly direct?: string;
  readonly haproxy?: string;
}

/** What names a path and says what it compares with: the part of a row known before measuring. */
export type PathLabels = Pick<
  PathRow,
  "id" | "protocol" | "path" | "generator" | "counted" | "direct" | "haproxy"
>;

export interface ControlPlaneRow {
  readonly dataPlanes: number;
  readonly connectMs: number;
  readonly ackMedianMs: number;
  readonly ackWorstMs: number;
  readonly rounds: number;
  readonly heapPerDataPlaneKiB: number;
}

export interface BenchResult {
  readonly date: string;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly node: string;
    readonly load: string;
  };
  readonly method: Readonly<Record<string, string>>;
  readonly paths: readonly PathRow[];
  readonly controlPlane: readonly ControlPlaneRow[];
  /** Problems met during the run (a path that could not be set up, failed requests...). */
  readonly notes: readonly string[];
  readonly seconds: number;
}
