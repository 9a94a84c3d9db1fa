import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzz, loadCorpus } from "../../../../tools/hardening/fuzz.ts";
import {
  formatPeerIdentity,
  formatSpiffeId,
  parsePeerIdentity,
  parseSpiffeId,
  SpiffeIdError,
  spiffeIdProblem,
} from "../../src/identity/spiffe.ts";

const CORPUS = fileURLToPath(new URL("./corpus/spiffe", import.meta.url));

/**
 * The SPIFFE ID specification (§2) written a second, independent way, as the oracle: lowercase
 * `spiffe://`, a trust domain of [a-z0-9._-] (at most 255 bytes), path segments of
 * [a-zA-Z0-9._-] that are not "." or "..", no trailing '/', at most 2048 bytes in all.
 */
function validBySpec(s: string): boolean {
  const m = /^spiffe:\/\/([a-z0-9._-]+)((?:\/[a-zA-Z0-9._-]+)*)$/.exec(s);
  if (!m) return false;
  const [, td = "", path = ""] = m;
  if (td.length > 255 || new TextEncoder().encode(s).length > 2048) return false;
  return path
    .split("/")
    .slice(1)
    .every((seg) => seg !== "." && seg !== "..");
}

function check(input: string): void {
  const expected = validBySpec(input);
  let parsed: ReturnType<typeof parseSpiffeId> | undefined;
  try {
    parsed = parseSpiffeId(input);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    expect(err.problem.length).toBeGreaterThan(0);
    // Safe to log: the offending input is quoted, never written raw (no line breaks, no NUL).
    expect(["\r", "\n", "\u0000"].some((c) => err.message.includes(c))).toBe(false);
  }
  expect(parsed !== undefined, `parseSpiffeId(${JSON.stringify(input)}) vs the spec`).toBe(expected);
  expect(spiffeIdProblem(input) === undefined).toBe(expected);
  if (!parsed) {
    expect(() => parsePeerIdentity(input)).toThrow(SpiffeIdError);
    return;
  }
  // One spelling per ID: what was parsed formats back to the same string.
  expect(parsed.id).toBe(input);
  expect(formatSpiffeId(parsed.trustDomain, parsed.segments)).toBe(input);
  let peer: ReturnType<typeof parsePeerIdentity> | undefined;
  try {
    peer = parsePeerIdentity(input);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
  }
  const weftForm = parsed.segments.length === 4 && parsed.segments[0] === "ns" && parsed.segments[2] === "sa";
  expect(peer !== undefined).toBe(weftForm);
  if (peer) expect(formatPeerIdentity(peer)).toBe(input);
}

const seeds = loadCorpus(CORPUS).map((e) => e.input);

// Characters around the edges of the grammar: the allowed ones, their look-alikes, separators.
const EDGE = [
  ..."abzAZ09._-/:@?#%~+ !$&'()*,;=[]\\\t\u0000\u00e9\u0130\u212a\uff41\u200b\ud83d\ude00",
  "..",
  "//",
];
const edgy = (max: number) =>
  fc
    .array(fc.oneof(fc.constantFrom(...EDGE), fc.string({ maxLength: 2, unit: "binary" })), {
      maxLength: max,
    })
    .map((a) => a.join(""));
const segment = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/),
  edgy(4),
  fc.constantFrom(".", "..", "", "ns", "sa"),
);
const structured = fc
  .tuple(
    fc.constantFrom("spiffe://", "SPIFFE://", "spiffe:/", "spiffe:", "https://", ""),
    fc.oneof(
      fc.stringMatching(/^[a-z0-9._-]{1,20}$/),
      edgy(6),
      fc.constant("a".repeat(255)),
      fc.constant("a".repeat(256)),
    ),
    fc.array(segment, { maxLength: 6 }),
    fc.constantFrom("", "/", "?", "#x", ":80"),
  )
  .map(([scheme, td, segs, tail]) => `${scheme}${td}${segs.map((s) => `/${s}`).join("")}${tail}`);
const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat({ max: 3 }), edgy(3))
  .map(([s, at, cut, ins]) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + ins + s.slice(i + cut);
  });

describe("fuzz: the SPIFFE ID parser", () => {
  it("agrees with the specification on structured near-misses, and round-trips what it accepts", async () => {
    await fuzz({
      target: "spiffe",
      property: "structured IDs vs the spec",
      corpusDir: CORPUS,
      arbitrary: structured,
      check,
      numRuns: 2_000,
    });
  });

  it("agrees with the specification on seed IDs with random edits", async () => {
    await fuzz({
      target: "spiffe",
      property: "mutated seed IDs",
      corpusDir: CORPUS,
      arbitrary: mutated,
      check,
      numRuns: 2_000,
    });
  });

  it("never throws anything but SpiffeIdError on arbitrary strings", async () => {
    await fuzz({
      target: "spiffe",
      property: "arbitrary strings",
      corpusDir: CORPUS,
      arbitrary: fc.string({ maxLength: 80, unit: "binary" }),
      check,
      numRuns: 1_000,
    });
  });
});
