import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LoadOptions {
  readonly url: string;
  /** HTTP/1.1 (one request at a time per connection) or h2c (`streams` per connection). */
  readonly h1: boolean;
  readonly clients: number;
  readonly streams: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Requests per second per client (fixed-rate runs); saturation when absent. */
  readonly rpsPerClient?: number;
  readonly headers?: readonly string[];
  /** A file whose bytes are POSTed as each request's body (h2load -d). */
  readonly data?: string;
}

export interface LoadResult {
  readonly rps: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Per-request latency percentiles in ms, from h2load's request log. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

/** One h2load run (one thread, so every scenario gets the same load generator). */
export async function h2load(o: LoadOptions, logFile: string): Promise<LoadResult> {
  const args = [
    "-t",
    "1",
    "-c",
    String(o.clients),
    "-m",
    String(o.h1 ? 1 : o.streams),
    "-D",
    String(o.seconds),
    "--warm-up-time",
    String(o.warmupSeconds),
    `--log-file=${logFile}`,
  ];
  if (o.h1) args.push("--h1");
  if (o.rpsPerClient) args.push(`--rps=${o.rpsPerClient}`);
  for (const h of o.headers ?? []) args.push("-H", h);
  if (o.data) args.push("-d", o.data);
  args.push(o.url);
  const { stdout } = await run("h2load", args, {
    maxBuffer: 1 << 20,
    timeout: (o.seconds + o.warmupSeconds + 30) * 1000,
  });
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? Number.NaN);
  const req = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
    stdout,
  );
  if (!req) throw new Error(`h2load printed no request counts for ${o.url}:\n${stdout}`);
  // Status counts include the warm-up; anything but 2xx is a failure.
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  const non2xx = status ? Number(status[2]) + Number(status[3]) + Number(status[4]) : 0;
  if (non2xx > 0 || Number(req[2]) + Number(req[3]) > 0)
    process.stderr.write(`h2load ${o.url}: ${req[0]}; ${status?.[0] ?? "no status line"}\n`);
  const latencies = readLatencies(logFile);
  rmSync(logFile, { force: true });
  return {
    rps,
    succeeded: Number(req[1]),
    failed: Number(req[2]) + Number(req[3]) + non2xx,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
  };
}

/** h2load's log: `start(µs)\tstatus\tduration(µs)` per request. */
function readLatencies(file: string): Float64Array {
  const lines = readFileSync(file, "utf8").split("\n");
  const out = new Float64Array(lines.length);
  let n = 0;
  for (const line of lines) {
    const parts = line.split("\t");
    if (parts.length < 3) continue;
    out[n++] = Number(parts[2]) / 1000;
  }
  return out.subarray(0, n).sort();
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
