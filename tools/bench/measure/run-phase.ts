import { join } from "node:path";
import { NamedProcesses, type Phase } from "../paths/phase.ts";
import type { PathRow } from "../report/model.ts";
import {
  type Durations,
  measureLatency,
  measureSaturation,
  phaseRate,
  type RequestPath,
} from "./load-path.ts";
import { measureStream, type StreamPath } from "./stream-path.ts";

export type Measurable = { kind: "request"; path: RequestPath } | { kind: "stream"; path: StreamPath };

export interface PhaseSetUp {
  readonly paths: Measurable[];
  close?(): Promise<void>;
}

export interface Log {
  progress(line: string): void;
  /** Something the report must say (a failure, a skipped step). */
  note(line: string): void;
}

export const requests = (paths: readonly RequestPath[]) =>
  paths.map((path): Measurable => ({ kind: "request", path }));
export const streams = (paths: readonly StreamPath[]) =>
  paths.map((path): Measurable => ({ kind: "stream", path }));

let running: NamedProcesses | undefined;
process.once("SIGINT", () => {
  void (running?.stopAll() ?? Promise.resolve()).then(() => process.exit(130));
});

const family = (r: PathRow) => r.id.slice(0, r.id.indexOf("/"));

const fmt = (r: PathRow) =>
  `${r.protocol}: ${r.path}: ${r.throughput} ${r.unit}` +
  (r.latencyMs
    ? `; at ${r.fixedRate} req/s p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms`
    : "") +
  (r.failed ? `, ${r.failed} failed` : "");

/**
 * Sets a phase up, measures its paths, tears it down; a failure costs only that phase (noted).
 * Saturation first for every request path, then latency at one rate per family of paths
 * (a row id's prefix), sized from the slowest of the family; then the byte streams.
 */
export async function runPhase(
  name: string,
  dir: string,
  setUp: (p: Phase) => Promise<PhaseSetUp>,
  d: Durations,
  log: Log,
): Promise<PathRow[]> {
  const procs = new NamedProcesses();
  running = procs;
  const rows: PathRow[] = [];
  let set: PhaseSetUp | undefined;
  try {
    log.progress(`${name}: setting up`);
    set = await setUp({ procs, dir, logFile: join(dir, `${name}.log`), progress: log.progress });
    // Idle settle after start-up, so no path is measured while another process still warms.
    await new Promise((r) => setTimeout(r, 1000));
    const load = set.paths.flatMap((m) => (m.kind === "request" ? [m.path] : []));
    const saturated: PathRow[] = [];
    for (const p of load) {
      const row = await measureSaturation(p, d);
      saturated.push(row);
      log.progress(`${row.protocol}: ${row.path}: ${row.throughput} req/s at saturation`);
    }
    const rates = new Map<string, number>();
    for (const f of new Set(saturated.map(family)))
      rates.set(
        f,
        phaseRate(
          saturated.filter((r) => family(r) === f),
          d,
        ),
      );
    for (const [i, p] of load.entries()) {
      const sat = saturated[i] as PathRow;
      rows.push(await measureLatency(p, sat, d, rates.get(family(sat)) ?? 50));
    }
    for (const m of set.paths) if (m.kind === "stream") rows.push(await measureStream(m.path, d));
    for (const row of rows) {
      log.progress(fmt(row));
      if (row.failed > 0) log.note(`${row.protocol}: ${row.path}: ${row.failed} failed requests`);
    }
  } catch (e) {
    log.note(`${name} phase stopped: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await set?.close?.().catch(() => undefined);
    await procs.stopAll();
    running = undefined;
  }
  return rows;
}
