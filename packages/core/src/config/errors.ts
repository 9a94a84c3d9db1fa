/** Where in a user's file a problem is, and what was expected there. */
export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem has no single place (an unreadable file). */
  line: number;
  column: number;
  /** Field path inside the document, e.g. `spec.policies.retry.attempts`. */
  path: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/**
 * A user's configuration is wrong. Carries every problem found, not just the first, so a
 * person fixes a file in one pass. Its message is meant to be printed as it is: no stack.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const n = problems.length;
    super(
      `${n} problem${n === 1 ? "" : "s"} in configuration:\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`,
    );
    this.problems = problems;
  }
}
