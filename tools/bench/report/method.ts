import type { Durations } from "../measure/load-path.ts";

/** How the run measured, in words, for the JSON file and the report's header. */
export function methodOf(d: Durations): Record<string, string> {
  return {
    "request paths": `saturation: ${d.warmupSeconds} s warm-up then ${d.seconds} s (h2load -t1: HTTP/1.1 64 connections, h2c 4 connections x 16 streams; in-process: 32 calls in flight); then latency: ${d.seconds} s after ${d.warmupSeconds} s at one rate per family of paths, half the slowest one's saturation throughput, at most ${d.maxFixedRate} req/s (h2load --rps, 10 clients; in-process: calls started on schedule, timed from the scheduled start)`,
    percentiles: `from every request of the latency run (h2load's request log; in-process: every call), rate x ${d.seconds} s samples: below 1,000 samples p99.9 is the slowest one`,
    "byte streams": `64 KiB writes as fast as the path takes them for ${d.seconds} s after ${d.warmupSeconds} s, counted where the bytes arrive; the weft path is one hop (HTTP/2 CONNECT into the callee's sidecar, as a caller's mesh member sends it), because opaque TCP into a caller's sidecar needs transparent mode (iptables)`,
    "CPU and RSS":
      "utime+stime from /proc/<pid>/stat over the counted part of the saturation run, and peak summed RSS, of the processes in the 'counted' column (in-process rows: the client process, where the mesh runs, plus the app)",
    apps: "HTTP: HAProxy answering 200 itself; gRPC and transcoding: one Node process (connect-node h2c, an in-process mesh server with mTLS, one in plaintext for REST); TCP: a Node sink",
    "control plane":
      "packages/control-plane/bench/fanout.ts: simulated data planes in a worker thread, a config change applied 5 times (100 data planes) or 3 times (1,000), timed until every data plane ACKed it",
    order: "paths run one after the other within a phase, one round (other work on the machine adds noise)",
  };
}
