import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzz } from "../../../../tools/hardening/fuzz.ts";
import { PathMatcher } from "../../src/convert/path-matcher.ts";
import { type PathTemplate, PathTemplateError, parsePathTemplate } from "../../src/convert/path-template.ts";

const CORPUS = fileURLToPath(new URL("./corpus/path-template", import.meta.url));
const SEP = "\u0001";

/** A template from the google.api.http grammar, with a path it must match and the variables' values. */
interface Generated {
  template: string;
  path: string;
  vars: string[];
}

const literal = fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/);
/** What a path segment may hold: unreserved characters and percent-escapes, never '/' or ':'. */
const value = fc.stringMatching(/^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2}){1,8}$/);
const deepValues = fc.array(value, { maxLength: 3 });

type Piece =
  | { kind: "literal"; text: string }
  | { kind: "star"; text: string }
  | { kind: "deep"; texts: string[] };
const piece = fc.oneof(
  literal.map((t): Piece => ({ kind: "literal", text: t })),
  value.map((t): Piece => ({ kind: "star", text: t })),
);

function render(pieces: Piece[]): { template: string[]; path: string[] } {
  const template: string[] = [];
  const path: string[] = [];
  for (const p of pieces) {
    if (p.kind === "literal") {
      template.push(p.text);
      path.push(p.text);
    } else if (p.kind === "star") {
      template.push("*");
      path.push(p.text);
    } else {
      template.push("**");
      path.push(...p.texts);
    }
  }
  return { template, path };
}

const generated: fc.Arbitrary<Generated> = fc
  .record({
    parts: fc.array(
      fc.oneof(
        piece.map((p) => ({ variable: false as const, pieces: [p] })),
        fc
          .array(piece, { minLength: 1, maxLength: 3 })
          .map((pieces) => ({ variable: true as const, pieces })),
      ),
      { minLength: 1, maxLength: 5 },
    ),
    deep: fc.option(fc.record({ texts: deepValues, inVariable: fc.boolean() })),
    shortForm: fc.boolean(),
    verb: fc.option(fc.stringMatching(/^[a-zA-Z]{1,8}$/)),
  })
  .map(({ parts, deep, shortForm, verb }) => {
    const all = parts.map((p) => ({ ...p, pieces: [...p.pieces] }));
    if (deep) {
      const d: Piece = { kind: "deep", texts: deep.texts };
      const last = all[all.length - 1];
      if (deep.inVariable && last?.variable) last.pieces.push(d);
      else all.push({ variable: false, pieces: [d] });
    }
    const templateSegs: string[] = [];
    const pathSegs: string[] = [];
    const vars: string[] = [];
    all.forEach((part, i) => {
      const r = render(part.pieces);
      pathSegs.push(...r.path);
      if (!part.variable) {
        templateSegs.push(...r.template);
        return;
      }
      vars.push(r.path.join("/"));
      const single = part.pieces.length === 1 && part.pieces[0]?.kind === "star";
      templateSegs.push(single && shortForm ? `{v${i}}` : `{v${i}=${r.template.join("/")}}`);
    });
    const suffix = verb ? `:${verb}` : "";
    return { template: `/${templateSegs.join("/")}${suffix}`, path: `/${pathSegs.join("/")}${suffix}`, vars };
  });

/** The template as a regular expression, written independently of the matcher (the oracle). */
function referenceRegExp(t: PathTemplate): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let source = "^";
  for (const s of t.segments) {
    if (s.kind === "literal") source += `/${esc(s.value)}`;
    else if (s.kind === "wildcard") source += "/[^/]+";
    else source += "(?:/.*)?";
  }
  if (t.segments.length === 0) source += "/";
  if (t.verb) source += `:${esc(t.verb)}`;
  return new RegExp(`${source}$`, "s");
}

function parseOrUndefined(text: string): PathTemplate | undefined {
  try {
    return parsePathTemplate(text);
  } catch (err) {
    if (!(err instanceof PathTemplateError)) throw err;
    expect(err.message).toContain("path template");
    return undefined;
  }
}

describe("fuzz: path templates and the path matcher (REST transcoding)", () => {
  it("a generated template parses, and matches a path made from it with the right variable values", async () => {
    await fuzz({
      target: "path-template",
      property: "generated templates round-trip through the matcher",
      corpusDir: CORPUS,
      arbitrary: generated.map((g) => [g.template, g.path, ...g.vars].join(SEP)),
      check: (input) => {
        const [template = "", path = "", ...vars] = input.split(SEP);
        // Corpus entries are bare templates: they only need to parse or be refused cleanly.
        const t = parseOrUndefined(template);
        if (!input.includes(SEP)) return;
        expect(t, `${template} should parse`).toBeDefined();
        if (!t) return;
        const m = new PathMatcher<string>();
        m.add("GET", t, "route", (e) => e);
        const match = m.match("GET", path);
        expect(match?.value, `${path} should match ${template}`).toBe("route");
        expect(match?.rawVars).toEqual(vars);
        expect(referenceRegExp(t).test(path)).toBe(true);
      },
      numRuns: 1_000,
    });
  });

  const grammarSoup = fc
    .array(
      fc.constantFrom("/", "{", "}", "=", "*", "**", ":", ".", "a", "b1", "_x", "%2F", "", "é", "\u0000"),
      {
        maxLength: 14,
      },
    )
    .map((a) => a.join(""));

  it("any text: a template or a PathTemplateError, never another exception", async () => {
    await fuzz({
      target: "path-template",
      property: "arbitrary and grammar-soup templates",
      corpusDir: CORPUS,
      arbitrary: fc.oneof(grammarSoup, fc.string({ maxLength: 40, unit: "binary" })),
      check: (input) => {
        const t = parseOrUndefined(input);
        if (t) expect(t.template).toBe(input);
      },
      numRuns: 1_000,
    });
  });

  it("many templates in one matcher: a match is always one the reference allows, and none is missed", async () => {
    // Templates with paths made from them (so matches happen, often across templates), grammar
    // soup, and paths of path-ish characters.
    const arbitrary = fc
      .tuple(
        fc.array(generated, { minLength: 1, maxLength: 6 }),
        fc.array(grammarSoup, { maxLength: 3 }),
        fc.array(
          fc
            .array(fc.constantFrom("/", "a", "b1", ":", "x", "%2F", ""), { maxLength: 8 })
            .map((a) => `/${a.join("")}`),
          { maxLength: 3 },
        ),
      )
      .map(([gens, soup, random]) =>
        JSON.stringify({
          ts: [...gens.map((g) => g.template), ...soup],
          ps: [...gens.map((g) => g.path), ...random],
        }),
      );
    await fuzz({
      target: "path-template",
      property: "matcher vs a reference on many templates",
      corpusDir: CORPUS,
      arbitrary,
      check: (input) => {
        if (!input.startsWith('{"ts"')) return; // a corpus template: covered by the tests above
        const { ts, ps } = JSON.parse(input) as { ts: string[]; ps: string[] };
        const m = new PathMatcher<PathTemplate>();
        const added: PathTemplate[] = [];
        for (const text of ts) {
          const t = parseOrUndefined(text);
          if (!t) continue;
          try {
            m.add("GET", t, t, (e) => e.template);
            added.push(t);
          } catch (err) {
            expect((err as Error).message).toContain("conflicts with");
          }
        }
        for (const p of ps) {
          const match = m.match("GET", p);
          if (match) {
            expect(referenceRegExp(match.value).test(p), `${match.value.template} matched ${p}`).toBe(true);
            expect(match.rawVars.length).toBe(match.value.variables.length);
          } else {
            const could = added.filter((t) => referenceRegExp(t).test(p)).map((t) => t.template);
            expect(could, `no match for ${p}`).toEqual([]);
          }
        }
      },
      numRuns: 600,
    });
  });
});
