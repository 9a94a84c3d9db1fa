import type { Monitor } from "./monitor.ts";

const pct = (r: number | undefined) => (r === undefined ? "-" : `${(r * 100).toFixed(r === 1 ? 1 : 2)}%`);
const ms = (v: number | undefined) => (v === undefined ? "-" : v < 10 ? v.toFixed(2) : v.toFixed(1));
const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s);

export const bold = (s: string) => `\x1b[1m${s}\x1b[22m`;
export const green = (s: string) => `\x1b[32m${s}\x1b[39m`;
export const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
const dim = (s: string) => `\x1b[2m${s}\x1b[22m`;

export interface ViewState {
  readonly title: string;
  readonly elapsedS: number;
  readonly durationS: number | undefined;
  readonly monitor: Monitor;
  /** Lines under the table: end-to-end figures, the fault, events. */
  readonly footer: readonly string[];
  readonly metricsUrls: readonly [string, string][];
}

/** The whole screen, for a terminal: redrawn in place every second. */
export function renderScreen(s: ViewState): string {
  const head = [
    pad("SERVICE", 13),
    pad("MODE", 11),
    pad("PROTOCOL", 9),
    lpad("REQ/S", 7),
    lpad("SUCCESS", 9),
    lpad("P50 ms", 8),
    lpad("P99 ms", 8),
    lpad("RETRIES/S", 10),
    "  CERTIFICATE IDENTITY IN USE",
  ].join(" ");
  const lines = [
    `${bold(s.title)}   ${s.durationS ? `${s.elapsedS.toFixed(0)} s of ${s.durationS} s` : `${s.elapsedS.toFixed(0)} s, Ctrl-C to stop`}`,
    "",
    bold(head),
  ];
  for (const { spec, now } of s.monitor.rows()) {
    const cells = [
      pad(spec.name, 13),
      pad(spec.mode, 11),
      pad(spec.protocol, 9),
      now.up ? lpad(now.rps.toFixed(0), 7) : lpad(red("down"), 7 + 10),
      lpad(
        now.successRate === undefined
          ? "-"
          : now.successRate >= 0.999
            ? green(pct(now.successRate))
            : red(pct(now.successRate)),
        9 + (now.successRate === undefined ? 0 : 10),
      ),
      lpad(ms(now.p50Ms), 8),
      lpad(ms(now.p99Ms), 8),
      lpad(now.retriesPerSecond.toFixed(0), 10),
      `  ${spec.identity()}`,
    ];
    lines.push(cells.join(" "));
  }
  lines.push("", ...s.footer, "", dim("metrics (Prometheus text):"));
  for (const [name, url] of s.metricsUrls) lines.push(dim(`  ${pad(name, 12)} ${url}`));
  // Home, draw, clear what is left of the previous frame.
  return `\x1b[H${lines.map((l) => `${l}\x1b[K`).join("\n")}\n\x1b[J`;
}

/** One line a second, for logs and CI, where a redrawn screen would be noise. */
export function renderLine(s: ViewState): string {
  const parts = s.monitor
    .rows()
    .map(({ spec, now }) =>
      now.up ? `${spec.name} ${now.rps.toFixed(0)}/s ${pct(now.successRate)}` : `${spec.name} down`,
    );
  return `[${lpad(s.elapsedS.toFixed(0), 3)} s] ${parts.join(" | ")}`;
}
