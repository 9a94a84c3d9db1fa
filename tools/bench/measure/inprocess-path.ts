import {
  type Echo,
  failures,
  latencies,
  quantile,
  throughput,
} from "../../../packages/inprocess/bench/mesh-vs-raw.bench.ts";
import type { RequestPath } from "./load-path.ts";

/** Calls in flight at saturation, as in the in-process bench. */
const CONCURRENCY = 32;

/**
 * A path loaded by a client loop in this process (h2load cannot drive a library): the
 * in-process bench's loops, `CONCURRENCY` calls in flight at saturation, calls started on a
 * fixed schedule for latency (measured from the scheduled start).
 */
export function inprocessPath(row: RequestPath["row"], pids: readonly number[], client: Echo): RequestPath {
  const failed = () => failures.get(client) ?? 0;
  return {
    row,
    pids: [process.pid, ...pids],
    proxies: [],
    async saturate(d) {
      await throughput(client, CONCURRENCY, d.warmupSeconds * 1000);
      const before = failed();
      const rps = await throughput(client, CONCURRENCY, d.seconds * 1000);
      return { rps, completed: Math.round(rps * d.seconds), failed: failed() - before };
    },
    async fixed(d, rate) {
      const before = failed();
      const l = await latencies(client, rate, d.seconds * 1000);
      return {
        latencyMs: {
          p50: quantile(l, 0.5),
          p90: quantile(l, 0.9),
          p99: quantile(l, 0.99),
          p999: quantile(l, 0.999),
        },
        failed: failed() - before,
      };
    },
  };
}
