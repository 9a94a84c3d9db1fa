/** A compiled list of string patterns: any entry may match. */
export type StringMatcher = (value: string) => boolean;

/**
 * Compiles patterns where a trailing "*" matches a prefix and "*" alone matches anything;
 * every other entry matches exactly. Exact entries go in a Set so long lists stay cheap.
 */
export function compilePatterns(patterns: readonly string[]): StringMatcher {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p === "*") return matchAny;
    if (p.endsWith("*")) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  if (prefixes.length === 0) return (value) => exact.has(value);
  return (value) => {
    if (exact.has(value)) return true;
    for (let i = 0; i < prefixes.length; i++) {
      if (value.startsWith(prefixes[i] as string)) return true;
    }
    return false;
  };
}

/** Why `pattern` is not an exact string or a prefix with one trailing "*", or undefined. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === "") return "is empty";
  const star = pattern.indexOf("*");
  if (star >= 0 && star !== pattern.length - 1)
    return `has a "*" that is not at the end (only a trailing "*" is supported)`;
  return undefined;
}

const matchAny: StringMatcher = () => true;
