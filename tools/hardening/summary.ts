import type { HardeningLine } from "./report-line.ts";

/** One row of the summary: an attack class and what happened to its cases. */
export interface ClassRow {
  readonly class: string;
  readonly cases: number;
  readonly refused: number;
  /** Cases that reported `passed: true` (interop cases, fuzz runs). */
  readonly passed: number;
  /** True when some case of the class reports `passed` at all. */
  readonly passedKnown: boolean;
  readonly reachedApp: number;
}

/** The report file's lines: well-formed entries, and any line that is not one (kept to be shown). */
export function parseReport(text: string): { entries: HardeningLine[]; malformed: string[] } {
  const entries: HardeningLine[] = [];
  const malformed: string[] = [];
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    try {
      const v = JSON.parse(raw) as Record<string, unknown>;
      if (
        typeof v.class === "string" &&
        typeof v.case === "string" &&
        typeof v.refused === "boolean" &&
        typeof v.reachedApp === "boolean" &&
        (v.passed === undefined || typeof v.passed === "boolean")
      ) {
        entries.push(v as unknown as HardeningLine);
        continue;
      }
    } catch {
      // Falls through: reported as malformed.
    }
    malformed.push(raw.slice(0, 200));
  }
  return { entries, malformed };
}

/** One row per class, in first-seen order of class names sorted alphabetically. */
export function summarize(entries: readonly HardeningLine[]): ClassRow[] {
  const rows = new Map<
    string,
    { cases: number; refused: number; passed: number; passedKnown: boolean; reachedApp: number }
  >();
  for (const e of entries) {
    let r = rows.get(e.class);
    if (!r) {
      r = { cases: 0, refused: 0, passed: 0, passedKnown: false, reachedApp: 0 };
      rows.set(e.class, r);
    }
    r.cases++;
    if (e.refused) r.refused++;
    if (e.reachedApp) r.reachedApp++;
    if (e.passed !== undefined) {
      r.passedKnown = true;
      if (e.passed) r.passed++;
    }
  }
  return [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, r]) => ({ class: name, ...r }));
}
