import { appendFileSync } from "node:fs";

/** One attack case of a hardening test, as the `npm run hardening` summary counts it. */
export interface HardeningCase {
  /** The attack class: "slowloris", "connection-flood", "h2-frames", "overload", ... */
  readonly class: string;
  /** What was sent, in a few words. */
  readonly case: string;
  /** The server refused it (closed the connection, reset the stream, answered 4xx/5xx). */
  readonly refused: boolean;
  /** Any of it reached the application behind the server. */
  readonly reachedApp: boolean;
}

/**
 * Appends `entry` as one JSON line to the file named by WEFT_HARDENING_REPORT; does nothing when
 * it is unset, so hardening tests run the same under plain `vitest`. (Tests only: node:fs.)
 */
export function reportHardening(entry: HardeningCase): void {
  const file = process.env.WEFT_HARDENING_REPORT;
  if (!file) return;
  const line = { class: entry.class, case: entry.case, refused: entry.refused, reachedApp: entry.reachedApp };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}
