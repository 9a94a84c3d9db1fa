/** Throws an Error naming the first option of `raw` that the plugin does not know. */
export function rejectUnknownOptions(
  plugin: string,
  raw: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      const expected = known.length ? `expected one of: ${known.join(", ")}` : "it takes no options";
      throw new Error(`plugin ${plugin}: unknown option "${key}" (${expected})`);
    }
  }
}

/** A number in [0, 1] from an option, or the default when absent. */
export function fractionOption(
  plugin: string,
  raw: Record<string, unknown>,
  key: string,
  fallback: number,
): number {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
    throw new Error(`plugin ${plugin}: option ${key} must be a number from 0 to 1, got ${JSON.stringify(v)}`);
  }
  return v;
}
