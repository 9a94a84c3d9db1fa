import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { rssMiB } from "../../../packages/sidecar/bench/processes.ts";

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** User + system CPU seconds a process has used so far, from /proc/<pid>/stat (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return 0;
  }
  // The command name (field 2) may hold spaces; fields after its closing parenthesis start at 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

const totalCpu = (pids: readonly number[]) => pids.reduce((n, p) => n + cpuSeconds(p), 0);
export const totalRss = (pids: readonly number[]) => pids.reduce((n, p) => n + (rssMiB(p) ?? 0), 0);

export interface Sampled<T> {
  readonly result: T;
  /** CPU seconds of `pids` (summed) from the end of the warm-up to the end of the run. */
  readonly cpuSeconds: number;
  /** Peak of the summed RSS of `pids` during the run, MiB. */
  readonly peakRssMiB: number;
}

/**
 * Runs `load` while watching `pids`: CPU is counted from `warmupMs` after the start (when the
 * load generator begins counting requests) to the end; RSS is sampled every 200 ms.
 */
export async function sampleDuring<T>(
  pids: readonly number[],
  warmupMs: number,
  load: () => Promise<T>,
): Promise<Sampled<T>> {
  let peak = totalRss(pids);
  let cpuStart = warmupMs > 0 ? Number.NaN : totalCpu(pids);
  const rss = setInterval(() => {
    peak = Math.max(peak, totalRss(pids));
  }, 200);
  const warm =
    warmupMs > 0
      ? setTimeout(() => {
          cpuStart = totalCpu(pids);
        }, warmupMs)
      : undefined;
  try {
    const result = await load();
    const cpuEnd = totalCpu(pids);
    peak = Math.max(peak, totalRss(pids));
    return { result, cpuSeconds: Number.isNaN(cpuStart) ? Number.NaN : cpuEnd - cpuStart, peakRssMiB: peak };
  } finally {
    clearInterval(rss);
    clearTimeout(warm);
  }
}
