import { readFileSync, writeFileSync } from "node:fs";

export const README_START = "<!-- bench:start -->";
export const README_END = "<!-- bench:end -->";

/** `text` with what lies between the bench markers replaced by `body`; undefined when a marker is missing. */
export function replaceBetweenMarkers(text: string, body: string): string | undefined {
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END, start);
  if (start < 0 || end < 0) return undefined;
  return `${text.slice(0, start + README_START.length)}\n${body.trimEnd()}\n${text.slice(end)}`;
}

/** Writes the report into the README between its markers; false (file untouched) when it has none. */
export function updateReadme(file: string, body: string): boolean {
  const next = replaceBetweenMarkers(readFileSync(file, "utf8"), body);
  if (next === undefined) return false;
  writeFileSync(file, next);
  return true;
}
