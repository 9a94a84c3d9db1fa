import { spawn } from "node:child_process";
import type { PathLabels, PathRow } from "../report/model.ts";
import type { Durations } from "./load-path.ts";
import { sampleDuring, totalRss } from "./process-stats.ts";

export interface ByteCounter {
  /** Bytes received at the far end so far, and when, on the receiver's clock. */
  mark(): Promise<{ bytes: number; atMs: number }>;
}

/** A byte-stream path: a load generator command, the processes it costs, where bytes are counted. */
export interface StreamPath {
  readonly row: PathLabels;
  readonly pids: readonly number[];
  /** The proxy processes among them (their idle RSS is reported alone). */
  readonly proxies: readonly number[];
  /** argv of the load generator; it must send for at least warm-up + seconds, then exit. */
  readonly command: (seconds: number) => string[];
  readonly sink: ByteCounter;
}

const GiB = 2 ** 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Throughput at the sink over `d.seconds` after the warm-up, with CPU per GiB and peak RSS. */
export async function measureStream(p: StreamPath, d: Durations): Promise<PathRow> {
  const idle = p.proxies.length > 0 ? totalRss(p.proxies) : undefined;
  const [cmd, ...args] = p.command(d.warmupSeconds + d.seconds + 1);
  const child = spawn(cmd as string, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    const sampled = await sampleDuring(p.pids, d.warmupSeconds * 1000, async () => {
      await sleep(d.warmupSeconds * 1000);
      const from = await p.sink.mark();
      await sleep(d.seconds * 1000);
      const to = await p.sink.mark();
      return { bytes: to.bytes - from.bytes, ms: to.atMs - from.atMs };
    });
    const { bytes, ms } = sampled.result;
    return {
      ...p.row,
      unit: "MiB/s",
      throughput: Math.round(((bytes / 2 ** 20) * 1000) / ms),
      cpuSeconds: sampled.cpuSeconds / Math.max(bytes / GiB, 1 / GiB),
      rssMiB: sampled.peakRssMiB,
      ...(idle !== undefined && { proxyIdleRssMiB: idle }),
      failed: bytes > 0 && err === "" ? 0 : 1,
    };
  } finally {
    child.kill("SIGTERM");
    const code = await exited;
    if (err) process.stderr.write(`bench: ${p.row.id} load generator (exit ${code}): ${err}\n`);
  }
}
