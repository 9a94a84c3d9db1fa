import { stringify } from "yaml";
import { CliError } from "./cli-error.ts";

export type OutputFormat = "table" | "json" | "yaml";

export function outputFormat(value: string | undefined): OutputFormat {
  const v = value ?? "table";
  if (v === "table" || v === "json" || v === "yaml") return v;
  throw new CliError(`-o must be table, json or yaml, got "${v}"`);
}

/** Columns padded to their widest cell, two spaces apart; `empty` when there are no rows. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  empty: string,
): string {
  if (rows.length === 0) return `${empty}\n`;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** Structured output for scripts: the protobuf JSON form, or the same as YAML. */
export function structured(format: "json" | "yaml", value: unknown): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** `2025-01-02T03:04:05Z (in 23h)`, or `-` when unknown. */
export function when(ms: number | undefined, nowMs: number): string {
  if (ms === undefined) return "-";
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const delta = ms - nowMs;
  const abs = Math.abs(delta);
  const span =
    abs >= 86_400_000
      ? `${Math.floor(abs / 86_400_000)}d`
      : abs >= 3_600_000
        ? `${Math.floor(abs / 3_600_000)}h`
        : abs >= 60_000
          ? `${Math.floor(abs / 60_000)}m`
          : `${Math.floor(abs / 1000)}s`;
  return `${iso} (${delta >= 0 ? `in ${span}` : `${span} ago, EXPIRED`})`;
}
