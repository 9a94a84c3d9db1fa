import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ControlPlaneRow } from "../report/model.ts";

const run = promisify(execFile);
const FANOUT = fileURLToPath(new URL("../../../packages/control-plane/bench/fanout.ts", import.meta.url));

/** Reads the two summary lines the control plane's fan-out bench prints. */
export function parseFanout(stdout: string): ControlPlaneRow {
  const connected =
    /(\d+) data planes connected in (\d+) ms; control-plane heap ([\d.-]+) KiB per data plane/.exec(stdout);
  const acked = /ACKed by all \d+: median (\d+) ms, worst (\d+) ms over (\d+) rounds/.exec(stdout);
  if (!connected || !acked) throw new Error(`bench: the fan-out bench printed no summary:\n${stdout}`);
  return {
    dataPlanes: Number(connected[1]),
    connectMs: Number(connected[2]),
    heapPerDataPlaneKiB: Number(connected[3]),
    ackMedianMs: Number(acked[1]),
    ackWorstMs: Number(acked[2]),
    rounds: Number(acked[3]),
  };
}

/**
 * The control plane's fan-out bench (packages/control-plane/bench/fanout.ts), run as it runs
 * alone: `count` simulated data planes on their own HTTP/2 connections in a worker thread, a
 * config change applied five times, each timed until every data plane has ACKed it; the
 * control plane's heap per connected data plane after forced GCs.
 */
export async function controlPlaneFanout(count: number, rounds: number): Promise<ControlPlaneRow> {
  const { stdout } = await run(
    process.execPath,
    ["--expose-gc", "--conditions=@weft/source", FANOUT, String(count), String(rounds)],
    { timeout: 150_000, maxBuffer: 1 << 20 },
  ).catch((e: { stdout?: string; message: string }) => {
    // The bench exits 1 when its 2 s target is missed, having printed its figures.
    if (e.stdout?.includes("ACKed by all")) return { stdout: e.stdout };
    throw new Error(`bench: control-plane fan-out with ${count} data planes failed: ${e.message}`);
  });
  return parseFanout(stdout);
}
