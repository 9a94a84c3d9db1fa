import type { ScenarioResult } from "./verdict.ts";

/** One scenario's verdict, its checks and its numbers, as lines. */
export function scenarioReport(r: ScenarioResult): string[] {
  const lines = [`${r.passed ? "PASS" : "FAIL"}  ${r.name}: ${r.title} (${r.seconds.toFixed(1)} s)`];
  for (const c of r.checks)
    lines.push(`  [${c.passed ? "x" : " "}] ${c.what}${c.detail ? `: ${c.detail}` : ""}`);
  const width = Math.max(...Object.keys(r.numbers).map((k) => k.length));
  for (const [k, v] of Object.entries(r.numbers)) lines.push(`      ${k.padEnd(width)}  ${v}`);
  return lines;
}

/** The summary table of a run: one row per scenario. */
export function summaryTable(results: readonly ScenarioResult[]): string[] {
  const rows = results.map((r) => [
    r.name,
    r.passed ? "PASS" : "FAIL",
    String(r.numbers["all calls"] ?? "-"),
    String(r.numbers["all failures"] ?? "-"),
    String(r.numbers["all success"] ?? "-"),
    String(r.numbers["all p50"] ?? "-"),
    String(r.numbers["all p99"] ?? "-"),
    `${r.seconds.toFixed(1)} s`,
  ]);
  const head = ["scenario", "verdict", "calls", "failed", "success", "p50", "p99", "time"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}
