import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latencyChartSvg } from "./chart.ts";
import { markdownReport } from "./markdown.ts";
import type { BenchResult } from "./model.ts";

/** Writes <day>.json, <day>.md and <day>.svg into `dir`; returns the Markdown and the paths written. */
export async function writeResults(
  dir: string,
  result: BenchResult,
): Promise<{ markdown: string; files: string[] }> {
  mkdirSync(dir, { recursive: true });
  const day = result.date.slice(0, 10);
  const markdown = markdownReport(result);
  const files = [join(dir, `${day}.json`), join(dir, `${day}.md`), join(dir, `${day}.svg`)] as const;
  writeFileSync(files[0], `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(
    files[1],
    `# Weft benchmark, ${day}\n\n${markdown}\n![latency percentiles per path](${day}.svg)\n`,
  );
  writeFileSync(files[2], await latencyChartSvg(result.paths));
  return { markdown, files: [...files] };
}
