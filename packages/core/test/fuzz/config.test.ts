import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { fuzz, loadCorpus } from "../../../../tools/hardening/fuzz.ts";
import { documentKinds } from "../../src/config/documents.ts";
import { ConfigError, parseMeshConfig } from "../../src/config/index.ts";

const CORPUS = fileURLToPath(new URL("./corpus/config", import.meta.url));
/**
 * A parse of a few KiB that takes longer than this is a denial of service (an alias bomb is
 * exponential), not a slow machine; the validator's one-time set-up is done before timing.
 */
const MAX_PARSE_MS = 5_000;

/**
 * The loader's contract on any text: a MeshConfig, or a ConfigError whose every problem names the
 * file, a line and column inside the text, and a message; never another exception, never a hang,
 * never a polluted Object prototype.
 */
function check(text: string): void {
  const started = performance.now();
  try {
    parseMeshConfig({ file: "fuzz.yaml", text });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const p of err.problems) {
      expect(p.file).toBe("fuzz.yaml");
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.line).toBeLessThanOrEqual(lines + 1);
      expect(p.column).toBeGreaterThanOrEqual(1);
      expect(typeof p.message === "string" && p.message.length > 0).toBe(true);
    }
  }
  expect(performance.now() - started).toBeLessThan(MAX_PARSE_MS);
  expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
}

const seeds = loadCorpus(CORPUS).map((e) => e.input);

// YAML's own punctuation and the model's words: mutations made of these reach deep into the loader.
const TOKENS = [
  ":",
  ": ",
  "-",
  "- ",
  "\n",
  "\n  ",
  "  ",
  "{",
  "}",
  "[",
  "]",
  ",",
  "'",
  '"',
  "&a ",
  "*a",
  "!!str ",
  "!!binary ",
  "? ",
  "|\n",
  ">-\n",
  "#",
  "---\n",
  "...\n",
  "\t",
  "\u0000",
  "\ufeff",
  "1e999",
  "-1",
  "0x10",
  ".nan",
  "null",
  "~",
  "true",
  "5s",
  "1.5ms",
  "-3h",
  "PROTOCOL_GRPC",
  "STRICT",
  "__proto__",
  "constructor",
  "spiffe://weft.local/ns/a/sa/b",
  ...Object.keys(documentKinds),
];

const edit = fc.record({
  at: fc.nat(),
  remove: fc.nat({ max: 12 }),
  insert: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6, unit: "binary" })),
});

/** A seed document with a few random edits (cut and insert at random offsets). */
const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 6 }))
  .map(([doc, edits]) => {
    let text = doc;
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
    }
    return text;
  });

const FIELDS = [
  "apiVersion",
  "kind",
  "metadata",
  "name",
  "namespace",
  "spec",
  "ports",
  "port",
  "protocol",
  "mode",
  "mtlsMode",
  "policies",
  "retry",
  "timeout",
  "request",
  "attempts",
  "perTryTimeout",
  "backoff",
  "budget",
  "ratio",
  "endpoints",
  "address",
  "rules",
  "principals",
  "action",
  "services",
  "rpcServices",
  "plugins",
  "trustDomain",
  "defaults",
  "loadBalancer",
  "algorithm",
  "outlierDetection",
  "match",
  "headers",
];

const scalar = fc.oneof(
  fc.constantFrom(
    ...TOKENS,
    "weft.dev/v1",
    "orders",
    "shop",
    8080,
    0,
    -1,
    2 ** 53,
    1e308,
    Number.NaN,
    true,
    null,
  ),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
);
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), tie("value"), {
      maxKeys: 5,
    }),
  ),
}));

/** Well-formed YAML documents of the right outline with random fields and values. */
const structured = fc
  .array(
    fc.record({
      apiVersion: fc.constantFrom("weft.dev/v1", "weft.dev/v2", ""),
      kind: fc.constantFrom(...Object.keys(documentKinds), "Nope"),
      metadata: fc.dictionary(fc.constantFrom("name", "namespace", "labels"), value, { maxKeys: 3 }),
      spec: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 5 }),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((docs) => docs.map((d) => stringify(d)).join("---\n"));

describe("fuzz: the config loader (parseMeshConfig)", () => {
  beforeAll(() => {
    // The example mesh is valid: this parse builds the protovalidate validator.
    parseMeshConfig({
      file: "warm-up.yaml",
      text: loadCorpus(CORPUS).find((e) => e.file.endsWith("example-mesh.txt"))?.input ?? "",
    });
  });

  it("any text: a MeshConfig or a ConfigError with file:line:column, never a crash or a hang", async () => {
    await fuzz({
      target: "config",
      property: "arbitrary text",
      corpusDir: CORPUS,
      arbitrary: fc.string({ maxLength: 300, unit: "binary" }),
      check,
      numRuns: 300,
    });
  });

  it("seed documents with random edits", async () => {
    await fuzz({
      target: "config",
      property: "mutated seed documents",
      corpusDir: CORPUS,
      arbitrary: mutated,
      check,
      numRuns: 300,
    });
  });

  it("well-formed documents with random fields and values", async () => {
    await fuzz({
      target: "config",
      property: "structured documents",
      corpusDir: CORPUS,
      arbitrary: structured,
      check,
      numRuns: 300,
    });
  });
});
