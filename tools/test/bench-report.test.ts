import { describe, expect, it } from "vitest";
import { phaseRate } from "../bench/measure/load-path.ts";
import { parseFanout } from "../bench/paths/control-plane.ts";
import { latencyChartSpec, latencyChartSvg, latencyPoints } from "../bench/report/chart.ts";
import { controlPlaneTable, markdownReport, pathsTable, ratiosTable } from "../bench/report/markdown.ts";
import type { BenchResult, PathRow } from "../bench/report/model.ts";
import { README_END, README_START, replaceBetweenMarkers } from "../bench/report/readme.ts";

const latency = (p50: number) => ({ p50, p90: p50 * 2, p99: p50 * 4, p999: p50 * 8 });
const row = (
  id: string,
  path: string,
  throughput: number,
  p50: number,
  cpu: number,
  extra: Partial<PathRow> = {},
) =>
  ({
    id,
    protocol: "HTTP/1.1",
    path,
    generator: "h2load --h1",
    unit: "req/s",
    throughput,
    latencyMs: latency(p50),
    fixedRate: 500,
    cpuSeconds: cpu,
    rssMiB: 80,
    counted: "app",
    failed: 0,
    ...extra,
  }) satisfies PathRow;

const PATHS: PathRow[] = [
  row("http/direct", "direct", 40_000, 0.5, 1),
  row("http/haproxy-2", "HAProxy, 2 hops", 20_000, 1, 2, { direct: "http/direct", proxyIdleRssMiB: 30 }),
  row("http/weft-2", "weft sidecar, 2 hops", 2_000, 5, 20, {
    direct: "http/direct",
    haproxy: "http/haproxy-2",
    proxyIdleRssMiB: 160,
  }),
  {
    ...row("tcp/direct", "direct", 900, 0, 1.5),
    protocol: "TCP stream",
    unit: "MiB/s",
    latencyMs: undefined,
    fixedRate: undefined,
  },
];

const RESULT: BenchResult = {
  date: "2026-11-25T19:00:00.000Z",
  machine: { cpus: 2, model: "AMD EPYC", node: "v24.21.0", load: "1.00 1.00 1.00" },
  method: { order: "one round" },
  paths: PATHS,
  controlPlane: [
    {
      dataPlanes: 100,
      connectMs: 1800,
      ackMedianMs: 140,
      ackWorstMs: 150,
      rounds: 5,
      heapPerDataPlaneKiB: 61.6,
    },
  ],
  notes: ["tcp phase stopped: example"],
  seconds: 200,
};

const cells = (line: string) =>
  line
    .split("|")
    .slice(1, -1)
    .map((c) => c.trim());

describe("the benchmark's Markdown tables", () => {
  it("has one line per path under a header and an alignment line, every line with the header's column count", () => {
    const lines = pathsTable(PATHS).split("\n");
    expect(lines).toHaveLength(2 + PATHS.length);
    const width = cells(lines[0] as string).length;
    for (const line of lines) expect(cells(line)).toHaveLength(width);
    expect(cells(lines[4] as string)).toEqual([
      "HTTP/1.1",
      "weft sidecar, 2 hops",
      "h2load --h1",
      "2000 req/s",
      "500",
      "5",
      "10",
      "20",
      "40",
      "20",
      "80",
      "160",
      "app",
      "0",
    ]);
    // A byte stream has a throughput in MiB/s and no latency.
    expect(cells(lines[5] as string).slice(3, 6)).toEqual(["900 MiB/s", "-", "-"]);
  });

  it("gives each compared path its ratios against direct and against HAProxy, and a dash where there is none", () => {
    const lines = ratiosTable(PATHS).split("\n");
    expect(lines).toHaveLength(2 + 2);
    expect(cells(lines[2] as string)).toEqual([
      "HTTP/1.1: HAProxy, 2 hops",
      "0.5x",
      "2x",
      "2x",
      "2x",
      "-",
      "-",
      "-",
      "-",
      "-",
    ]);
    expect(cells(lines[3] as string)).toEqual([
      "HTTP/1.1: weft sidecar, 2 hops",
      "0.05x",
      "10x",
      "10x",
      "20x",
      "0.1x",
      "5x",
      "5x",
      "10x",
      "5.3x",
    ]);
  });

  it("puts the control plane's fan-out figures in their own table", () => {
    expect(controlPlaneTable(RESULT.controlPlane).split("\n")[2]).toBe(
      "| 100 | 1800 | 140 | 150 | 5 | 61.6 |",
    );
  });

  it("writes the machine, the method, the three tables and the notes into the report", () => {
    const md = markdownReport(RESULT);
    expect(md.startsWith("Measured 2026-11-25 19:00 UTC on 2 cores (AMD EPYC), Node v24.21.0")).toBe(true);
    expect(md).toContain("- order: one round");
    for (const heading of ["### Data paths", "### Against direct and against HAProxy", "### Control plane"])
      expect(md).toContain(heading);
    expect(md).toContain("- tcp phase stopped: example");
  });
});

describe("the latency chart", () => {
  it("has four percentiles per path with a latency, in order, in a panel naming the rate, and none for streams", () => {
    const points = latencyPoints(PATHS);
    expect(points).toHaveLength(3 * 4);
    expect(points.slice(8).map((p) => [p.percentile, p.ms])).toEqual([
      ["p50", 5],
      ["p90", 10],
      ["p99", 20],
      ["p99.9", 40],
    ]);
    expect(points[0]?.panel).toBe("HTTP at 500 req/s");
    expect(points[0]?.path).toBe("direct (HTTP/1.1; h2load --h1)");
    expect(JSON.stringify(latencyChartSpec(PATHS))).toContain('"type":"log"');
  });

  it("renders to an SVG document naming every path", async () => {
    const svg = await latencyChartSvg(PATHS);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    for (const p of ["direct", "HAProxy, 2 hops", "weft sidecar, 2 hops"])
      expect(svg).toContain(`${p} (HTTP/1.1; h2load --h1)`);
    expect(svg).toContain("HTTP at 500 req/s");
  });
});

describe("the README section", () => {
  it("replaces only what lies between the markers", () => {
    const text = `# Weft\n\nintro\n\n${README_START}\nold table\n${README_END}\n\nmore\n`;
    expect(replaceBetweenMarkers(text, "new table\n")).toBe(
      `# Weft\n\nintro\n\n${README_START}\nnew table\n${README_END}\n\nmore\n`,
    );
  });

  it("leaves a README without both markers alone", () => {
    expect(replaceBetweenMarkers("# Weft\n", "x")).toBeUndefined();
    expect(replaceBetweenMarkers(`${README_START}\n`, "x")).toBeUndefined();
    expect(replaceBetweenMarkers(`${README_END}\n${README_START}\n`, "x")).toBeUndefined();
  });
});

describe("the control-plane fan-out summary", () => {
  it("is read from the fan-out bench's two lines", () => {
    const out =
      "100 data planes connected in 1787 ms; control-plane heap 61.6 KiB per data plane\n" +
      "config change ACKed by all 100: median 140 ms, worst 148 ms over 5 rounds (target < 2000 ms)\n";
    expect(parseFanout(out)).toEqual({
      dataPlanes: 100,
      connectMs: 1787,
      heapPerDataPlaneKiB: 61.6,
      ackMedianMs: 140,
      ackWorstMs: 148,
      rounds: 5,
    });
  });

  it("names what it printed when the summary is missing", () => {
    expect(() => parseFanout("timed out waiting for first ACKs")).toThrow(/printed no summary:\ntimed out/);
  });
});

describe("the latency rate of a family of paths", () => {
  const d = { seconds: 2, warmupSeconds: 1, maxFixedRate: 1000 };
  const at = (...rps: number[]) => rps.map((r, i) => row(`http/${i}`, `p${i}`, r, 1, 1));

  it("is half the slowest path's saturation throughput, in steps of 50", () => {
    expect(phaseRate(at(40_000, 1_290), d)).toBe(600);
  });

  it("stays between 50 req/s and the configured most", () => {
    expect(phaseRate(at(40_000, 30_000), d)).toBe(1000);
    expect(phaseRate(at(40_000, 60), d)).toBe(50);
    expect(phaseRate(at(0), d)).toBe(50);
  });
});
