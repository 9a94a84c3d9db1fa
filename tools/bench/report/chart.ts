import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { PathRow } from "./model.ts";

const PERCENTILES = [
  ["p50", "p50"],
  ["p90", "p90"],
  ["p99", "p99"],
  ["p999", "p99.9"],
] as const;

/** Panel titles by family of paths (a row id's prefix): the paths measured at one rate. */
const FAMILIES: Readonly<Record<string, string>> = {
  http: "HTTP",
  grpc: "gRPC unary",
  transcode: "REST/JSON transcoding against Connect",
};

const panel = (r: PathRow) => {
  const family = r.id.slice(0, r.id.indexOf("/"));
  return `${FAMILIES[family] ?? family} at ${r.fixedRate} req/s`;
};

/** One point per path and percentile: the chart's data. */
export function latencyPoints(paths: readonly PathRow[]) {
  return paths.flatMap((r) =>
    r.latencyMs === undefined
      ? []
      : PERCENTILES.map(([key, name]) => ({
          panel: panel(r),
          path: `${r.path} (${r.protocol}; ${r.generator})`,
          percentile: name,
          ms: r.latencyMs?.[key] as number,
        })),
  );
}

/** The Vega-Lite spec: latency by percentile, a line per path, a panel per family of paths, log scale. */
export function latencyChartSpec(paths: readonly PathRow[]): TopLevelSpec {
  const panels = [...new Set(paths.filter((r) => r.latencyMs !== undefined).map(panel))];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Latency percentiles per path, at one fixed request rate per panel (loopback)",
    data: { values: latencyPoints(paths) },
    facet: {
      row: {
        field: "panel",
        type: "nominal",
        title: null,
        sort: panels,
        header: { labelAngle: 0, labelOrient: "top", labelAnchor: "start", labelFontWeight: "bold" },
      },
    },
    resolve: { scale: { color: "independent" } },
    spec: {
      width: 420,
      height: 180,
      mark: { type: "line", point: true },
      encoding: {
        x: {
          field: "percentile",
          type: "ordinal",
          sort: PERCENTILES.map(([, n]) => n),
          title: null,
          axis: { labelAngle: 0 },
        },
        y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "latency (ms, log)" },
        color: {
          field: "path",
          type: "nominal",
          title: "path (protocol; load generator)",
          legend: { labelLimit: 600, titleLimit: 600 },
        },
        tooltip: [{ field: "path" }, { field: "percentile" }, { field: "ms" }],
      },
    },
  };
}

/** Renders the chart to an SVG document, headless (no canvas: text is measured by estimate). */
export async function latencyChartSvg(paths: readonly PathRow[]): Promise<string> {
  const view = new View(parse(compile(latencyChartSpec(paths)).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
