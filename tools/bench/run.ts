/**
 * `npm run bench`: every data path side by side on loopback in one bounded run (under five
 * minutes on two cores), then the control plane's fan-out. Writes bench/results/<day>.json,
 * .md (also printed) and .svg (latency percentiles per path); `--update-readme` puts the
 * report between the bench markers of the root README.
 *   node --conditions=@weft/source tools/bench/run.ts [--update-readme] [--no-build]
 *        [--only http,grpc,tcp,control-plane] [--seconds 2] [--rate 1000]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writePki } from "../../packages/sidecar/bench/bench.ts";
import type { Durations } from "./measure/load-path.ts";
import { type Log, requests, runPhase, streams } from "./measure/run-phase.ts";
import { controlPlaneFanout } from "./paths/control-plane.ts";
import { grpcPaths } from "./paths/grpc.ts";
import { httpPaths } from "./paths/http.ts";
import { buildSidecarIfStale } from "./paths/sidecar-build.ts";
import { tcpPaths } from "./paths/tcp.ts";
import { writeResults } from "./report/files.ts";
import { methodOf } from "./report/method.ts";
import type { BenchResult, ControlPlaneRow, PathRow } from "./report/model.ts";
import { updateReadme } from "./report/readme.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PHASES = ["http", "grpc", "tcp", "control-plane"] as const;
/** The whole run stays under five minutes: a step that would not fit (by its usual length under load) is skipped. */
const BUDGET_SECONDS = 290;

const { values: opts } = parseArgs({
  options: {
    "update-readme": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    only: { type: "string", default: PHASES.join(",") },
    seconds: { type: "string", default: "2" },
    rate: { type: "string", default: "1000" },
  },
});
const only = new Set(opts.only.split(","));
for (const p of only)
  if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--only: unknown phase "${p}" (${PHASES})`);
const d: Durations = { seconds: Number(opts.seconds), warmupSeconds: 1, maxFixedRate: Number(opts.rate) };

const began = performance.now();
const elapsedSeconds = () => (performance.now() - began) / 1000;
const notes: string[] = [];
const log: Log = {
  progress: (line) =>
    process.stderr.write(`[${String(Math.round(elapsedSeconds())).padStart(4)} s] ${line}\n`),
  note: (line) => {
    notes.push(line);
    log.progress(`NOTE ${line}`);
  },
};
const fits = (step: string, seconds: number) => {
  if (elapsedSeconds() + seconds <= BUDGET_SECONDS) return true;
  log.note(
    `${step} skipped: ${Math.round(elapsedSeconds())} s gone, it takes about ${seconds} s, the run's budget is ${BUDGET_SECONDS} s`,
  );
  return false;
};
const loadAverage = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

function checkTools(): void {
  for (const tool of ["haproxy", "h2load", "curl"])
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new Error(`bench: ${tool} is not on PATH (tools/scripts/ensure-system-deps.sh installs it)`);
    }
}

async function controlPlaneRows(): Promise<ControlPlaneRow[]> {
  const rows: ControlPlaneRow[] = [];
  for (const [count, rounds, seconds] of [
    [100, 5, 20],
    [1000, 3, 60],
  ] as const) {
    if (!fits(`control plane with ${count} data planes`, seconds)) continue;
    log.progress(`control plane: ${count} data planes`);
    try {
      const row = await controlPlaneFanout(count, rounds);
      rows.push(row);
      log.progress(
        `control plane: ${count} data planes: config change ACKed by all in ${row.ackMedianMs} ms (median), ${row.heapPerDataPlaneKiB} KiB heap each`,
      );
    } catch (e) {
      log.note((e as Error).message.split("\n")[0] as string);
    }
  }
  return rows;
}

async function main(): Promise<void> {
  checkTools();
  const loadAtStart = loadAverage();
  if (!opts["no-build"]) buildSidecarIfStale(ROOT, log);
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  const rows: PathRow[] = [];
  let controlPlane: ControlPlaneRow[] = [];
  try {
    await writePki(dir);
    if (only.has("http") && fits("http phase", 75))
      rows.push(
        ...(await runPhase("http", dir, async (p) => ({ paths: requests(await httpPaths(p)) }), d, log)),
      );
    if (only.has("grpc") && fits("grpc phase", 80))
      rows.push(
        ...(await runPhase(
          "grpc",
          dir,
          async (p) => {
            const g = await grpcPaths(p);
            return { paths: requests(g.paths), close: g.close };
          },
          d,
          log,
        )),
      );
    if (only.has("tcp") && fits("tcp phase", 25))
      rows.push(
        ...(await runPhase(
          "tcp",
          dir,
          async (p) => {
            const t = await tcpPaths(p);
            return { paths: streams(t.paths), close: t.close };
          },
          d,
          log,
        )),
      );
    if (only.has("control-plane")) controlPlane = await controlPlaneRows();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const result: BenchResult = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? "",
      node: process.version,
      load: `${loadAtStart} at the start, ${loadAverage()} at the end`,
    },
    method: methodOf(d),
    paths: rows,
    controlPlane,
    notes,
    seconds: Math.round(elapsedSeconds()),
  };
  const { markdown, files } = await writeResults(join(ROOT, "bench", "results"), result);
  process.stdout.write(`\n${markdown}\n`);
  log.progress(`wrote ${files.join(", ")}`);
  if (opts["update-readme"]) {
    const readme = join(ROOT, "README.md");
    log.progress(
      updateReadme(readme, markdown)
        ? `updated ${readme}`
        : `${readme} has no <!-- bench:start --> / <!-- bench:end --> markers; left unchanged`,
    );
  }
}

await main();
// Connect sessions and timers of the in-process clients must not keep the process alive.
process.exit(0);
