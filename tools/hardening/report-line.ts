import { appendFileSync } from "node:fs";

/**
 * One line of the hardening report: a case of an attack class, whether the mesh refused it, and
 * whether anything of it reached the app. `passed` is for classes that are not attacks (interop
 * cases, fuzz runs): true when the case held.
 */
export interface HardeningLine {
  readonly class: string;
  readonly case: string;
  readonly refused: boolean;
  readonly reachedApp: boolean;
  readonly passed?: boolean;
  readonly detail?: string;
}

/**
 * Appends `line` as JSON to the file named by WEFT_HARDENING_REPORT (the `npm run hardening`
 * runner sets it); does nothing otherwise, so the tests run the same on their own. Appends of one
 * short line are atomic enough for vitest's workers sharing the file.
 */
export function reportHardeningCase(line: HardeningLine): void {
  const file = process.env.WEFT_HARDENING_REPORT;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}
