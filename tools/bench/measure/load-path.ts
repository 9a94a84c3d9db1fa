import { h2load, type LoadOptions } from "../../../packages/sidecar/bench/h2load.ts";
import type { PathLabels, PathRow, Percentiles } from "../report/model.ts";
import { sampleDuring, totalRss } from "./process-stats.ts";

export interface Durations {
  /** Seconds of each measured phase (saturation, fixed rate), after its warm-up. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Most requests per second of the latency runs (a phase's rate is the same for all its paths). */
  readonly maxFixedRate: number;
}

export interface Saturation {
  /** Requests completed per second, and requests completed, while counting. */
  readonly rps: number;
  readonly completed: number;
  readonly failed: number;
}

export interface FixedRate {
  readonly latencyMs: Percentiles;
  readonly failed: number;
}

/** A request path: how to load it, which processes it costs, and what it compares with. */
export interface RequestPath {
  readonly row: PathLabels;
  /** Proxies and app (and, in-process, the client process, where the mesh lives). */
  readonly pids: readonly number[];
  /** The proxy processes among them (their idle RSS is reported alone). */
  readonly proxies: readonly number[];
  /** Warms up for `d.warmupSeconds`, then counts completed requests for `d.seconds`. */
  saturate(d: Durations): Promise<Saturation>;
  fixed(d: Durations, rate: number): Promise<FixedRate>;
}

/** Throughput at saturation, with the CPU per 10,000 requests and the peak RSS of the path's processes. */
export async function measureSaturation(p: RequestPath, d: Durations): Promise<PathRow> {
  const idle = p.proxies.length > 0 ? totalRss(p.proxies) : undefined;
  // CPU is counted from the end of the warm-up, when requests start to count.
  const sat = await sampleDuring(p.pids, d.warmupSeconds * 1000, () => p.saturate(d));
  return {
    ...p.row,
    unit: "req/s",
    throughput: Math.round(sat.result.rps),
    cpuSeconds: (sat.cpuSeconds / Math.max(1, sat.result.completed)) * 10_000,
    rssMiB: sat.peakRssMiB,
    ...(idle !== undefined && { proxyIdleRssMiB: idle }),
    failed: sat.result.failed,
  };
}

/** The row with latency percentiles at `rate` requests per second added. */
export async function measureLatency(
  p: RequestPath,
  row: PathRow,
  d: Durations,
  rate: number,
): Promise<PathRow> {
  const fixed = await p.fixed(d, rate);
  return { ...row, latencyMs: fixed.latencyMs, fixedRate: rate, failed: row.failed + fixed.failed };
}

/**
 * One latency rate for all paths of a phase, so their percentiles compare: half the slowest
 * path's saturation throughput (a path at its limit shows queueing, not its latency), in
 * steps of 50, between 50 and `d.maxFixedRate`.
 */
export function phaseRate(rows: readonly PathRow[], d: Durations): number {
  const slowest = Math.min(...rows.map((r) => r.throughput));
  return Math.max(50, Math.min(d.maxFixedRate, Math.floor(slowest / 2 / 50) * 50));
}

export interface H2loadTarget {
  readonly url: string;
  readonly h1: boolean;
  readonly headers?: readonly string[];
  readonly data?: string;
}

/** A path loaded by h2load (one thread): HTTP/1.1 64 connections, h2c 4 x 16 streams; 10 clients at the fixed rate. */
export function h2loadPath(
  row: RequestPath["row"],
  processes: { readonly proxies: readonly number[]; readonly app: number },
  target: H2loadTarget,
  logFile: string,
): RequestPath {
  const base = (d: Durations): Omit<LoadOptions, "clients" | "streams"> => ({
    ...target,
    seconds: d.seconds,
    warmupSeconds: d.warmupSeconds,
  });
  return {
    row,
    pids: [...processes.proxies, processes.app],
    proxies: processes.proxies,
    async saturate(d) {
      const r = await h2load({ ...base(d), clients: target.h1 ? 64 : 4, streams: 16 }, logFile);
      return { rps: r.rps, completed: r.succeeded, failed: r.failed };
    },
    async fixed(d, rate) {
      const r = await h2load({ ...base(d), clients: 10, streams: 1, rpsPerClient: rate / 10 }, logFile);
      return { latencyMs: { p50: r.p50, p90: r.p90, p99: r.p99, p999: r.p999 }, failed: r.failed };
    },
  };
}
