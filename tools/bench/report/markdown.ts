import type { BenchResult, ControlPlaneRow, PathRow } from "./model.ts";

const sig = (x: number, digits = 3) => (Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : "-");
const ms = (x: number | undefined) => (x === undefined ? "-" : sig(x));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a / b) || b === 0 ? "-" : `${sig(a / b, 2)}x`;

function table(head: readonly string[], align: readonly ("l" | "r")[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(align.map((a) => (a === "r" ? "---:" : "---"))), ...rows.map(line)].join("\n");
}

const label = (r: PathRow) => `${r.protocol}: ${r.path}`;

export function pathsTable(paths: readonly PathRow[]): string {
  return table(
    [
      "protocol",
      "path",
      "generator",
      "throughput at saturation",
      "latency at (req/s)",
      "p50 (ms)",
      "p90 (ms)",
      "p99 (ms)",
      "p99.9 (ms)",
      "CPU s per 10k req (per GiB for streams)",
      "RSS under load (MiB)",
      "proxies' idle RSS (MiB)",
      "counted",
      "failed",
    ],
    ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "l", "r"],
    paths.map((r) => [
      r.protocol,
      r.path,
      r.generator,
      `${r.throughput} ${r.unit}`,
      r.fixedRate === undefined ? "-" : String(r.fixedRate),
      ms(r.latencyMs?.p50),
      ms(r.latencyMs?.p90),
      ms(r.latencyMs?.p99),
      ms(r.latencyMs?.p999),
      sig(r.cpuSeconds),
      sig(r.rssMiB),
      r.proxyIdleRssMiB === undefined ? "-" : sig(r.proxyIdleRssMiB),
      r.counted,
      String(r.failed),
    ]),
  );
}

/** The headline: each mesh path against the same protocol without the mesh, and against HAProxy in its place. */
export function ratiosTable(paths: readonly PathRow[]): string {
  const byId = new Map(paths.map((r) => [r.id, r]));
  const compared = paths.filter((r) => r.direct !== undefined || r.haproxy !== undefined);
  return table(
    [
      "path",
      "throughput / direct",
      "p50 / direct",
      "p99 / direct",
      "CPU per unit / direct",
      "throughput / HAProxy",
      "p50 / HAProxy",
      "p99 / HAProxy",
      "CPU per unit / HAProxy",
      "proxies' idle RSS / HAProxy",
    ],
    ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    compared.map((r) => {
      const d = r.direct === undefined ? undefined : byId.get(r.direct);
      const h = r.haproxy === undefined ? undefined : byId.get(r.haproxy);
      return [
        label(r),
        ratio(r.throughput, d?.throughput),
        ratio(r.latencyMs?.p50, d?.latencyMs?.p50),
        ratio(r.latencyMs?.p99, d?.latencyMs?.p99),
        ratio(r.cpuSeconds, d?.cpuSeconds),
        ratio(r.throughput, h?.throughput),
        ratio(r.latencyMs?.p50, h?.latencyMs?.p50),
        ratio(r.latencyMs?.p99, h?.latencyMs?.p99),
        ratio(r.cpuSeconds, h?.cpuSeconds),
        ratio(r.proxyIdleRssMiB, h?.proxyIdleRssMiB),
      ];
    }),
  );
}

export function controlPlaneTable(rows: readonly ControlPlaneRow[]): string {
  return table(
    [
      "data planes",
      "all connected (ms)",
      "config change ACKed by all: median (ms)",
      "worst (ms)",
      "rounds",
      "control-plane heap per data plane (KiB)",
    ],
    ["r", "r", "r", "r", "r", "r"],
    rows.map((r) => [
      String(r.dataPlanes),
      String(r.connectMs),
      String(r.ackMedianMs),
      String(r.ackWorstMs),
      String(r.rounds),
      sig(r.heapPerDataPlaneKiB),
    ]),
  );
}

/** The whole report: what was measured and how, the three tables, and the run's notes. */
export function markdownReport(r: BenchResult): string {
  const parts = [
    `Measured ${r.date.slice(0, 16).replace("T", " ")} UTC on ${r.machine.cpus} cores (${r.machine.model}), Node ${r.machine.node}, load average ${r.machine.load}; ${r.seconds} s in all.`,
    Object.entries(r.method)
      .map(([k, v]) => `- ${k}: ${v}`)
      .join("\n"),
    "### Data paths",
    pathsTable(r.paths),
    "### Against direct and against HAProxy",
    ratiosTable(r.paths),
    "### Control plane",
    controlPlaneTable(r.controlPlane),
  ];
  if (r.notes.length > 0) parts.push("### Notes", r.notes.map((n) => `- ${n}`).join("\n"));
  return `${parts.join("\n\n")}\n`;
}
