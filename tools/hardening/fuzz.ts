import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { reportHardeningCase } from "./report-line.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEFAULT_SEED = 20261125;

export type CorpusEncoding = "utf8" | "latin1";

export interface FuzzOptions {
  /** Reported as the class `fuzz-<target>`. */
  readonly target: string;
  /** What the property claims, e.g. "any text: a MeshConfig or a ConfigError". */
  readonly property: string;
  /** The folder of seed inputs (one per .txt file), replayed before the random runs. */
  readonly corpusDir: string;
  /** latin1 for byte strings (a wire target), utf8 (default) for text. */
  readonly encoding?: CorpusEncoding;
  readonly arbitrary: fc.Arbitrary<string>;
  /** Throws (or rejects) when the input breaks the property. */
  readonly check: (input: string) => void | Promise<void>;
  /** Bounded so one fuzz file runs in a few seconds; WEFT_FUZZ_RUNS overrides it. */
  readonly numRuns: number;
  /** For a target in front of an app: whether anything malformed got through to it (reported). */
  readonly reachedApp?: () => boolean;
  /** A summary of what the inputs did (counts), added to the report line. */
  readonly summary?: () => string;
}

export interface CorpusEntry {
  readonly file: string;
  readonly input: string;
}

/** Every .txt file of `dir`, sorted, as inputs. */
export function loadCorpus(dir: string, encoding: CorpusEncoding = "utf8"): CorpusEntry[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()
    .map((f) => ({ file: join(dir, f), input: readFileSync(join(dir, f), encoding) }));
}

/** Single-quoted for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The command that adds `input` to the corpus at `dir` (printed with a counterexample). */
export function addToCorpusCommand(dir: string, input: string, encoding: CorpusEncoding = "utf8"): string {
  const flag = encoding === "latin1" ? " --latin1" : "";
  return `node tools/hardening/add-corpus.ts ${relative(ROOT, dir)}${flag} ${shellQuote(JSON.stringify(input))}`;
}

/**
 * Replays the corpus, then runs `numRuns` inputs from `arbitrary` (seed WEFT_FUZZ_SEED, else a
 * fixed one, so a run is reproducible). A failing input is printed with the one-liner that adds
 * it to the corpus, so it is replayed by every later run. Reports one hardening line.
 */
export async function fuzz(options: FuzzOptions): Promise<{ corpus: number; runs: number; seed: number }> {
  const encoding = options.encoding ?? "utf8";
  const corpus = loadCorpus(options.corpusDir, encoding);
  const seedEnv = process.env.WEFT_FUZZ_SEED;
  const seed = seedEnv === "random" ? Date.now() % 2 ** 31 : seedEnv ? Number(seedEnv) : DEFAULT_SEED;
  const numRuns = process.env.WEFT_FUZZ_RUNS ? Number(process.env.WEFT_FUZZ_RUNS) : options.numRuns;
  const line = (passed: boolean, detail: string) =>
    reportHardeningCase({
      class: `fuzz-${options.target}`,
      case: `${options.property} (${corpus.length} corpus + ${numRuns} runs, seed ${seed})`,
      refused: passed,
      reachedApp: options.reachedApp?.() ?? false,
      passed,
      detail: options.summary ? `${detail}; ${options.summary()}` : detail,
    });
  for (const entry of corpus) {
    try {
      await options.check(entry.input);
    } catch (err) {
      line(false, `corpus ${entry.file}`);
      throw new Error(`fuzz-${options.target}: corpus input ${entry.file} fails: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const out = await fc.check(
    fc.asyncProperty(options.arbitrary, async (input) => {
      await options.check(input);
    }),
    { numRuns, seed },
  );
  if (out.failed) {
    const input = out.counterexample?.[0] ?? "";
    const command = addToCorpusCommand(options.corpusDir, input, encoding);
    console.error(
      `fuzz-${options.target}: counterexample ${JSON.stringify(input)} (seed ${seed}, path ${out.counterexamplePath})\n` +
        `failure: ${out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance)}\n` +
        `keep it in the corpus (from the repository root):\n  ${command}`,
    );
    line(false, `counterexample ${JSON.stringify(input).slice(0, 200)}`);
    throw new Error((await fc.asyncDefaultReportMessage(out)) ?? "fuzz property failed");
  }
  line(true, `${out.numRuns} runs`);
  return { corpus: corpus.length, runs: out.numRuns, seed };
}
