/** A segment of a path template: a literal, `*` (one segment) or `**` (the rest of the path). */
export type TemplateSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "wildcard" }
  | { readonly kind: "deep" };

/** A `{field.path=segments}` variable, bound to the template segments [start, end). */
export interface TemplateVariable {
  readonly fieldPath: readonly string[];
  readonly start: number;
  /** Exclusive; equal to the segment count when the variable ends with `**`. */
  readonly end: number;
  /** True when the variable may span several path segments (`/` in its value is kept encoded). */
  readonly multiSegment: boolean;
}

/** A parsed `google.api.http` path template. */
export interface PathTemplate {
  readonly template: string;
  readonly segments: readonly TemplateSegment[];
  /** The custom verb after `:`, or empty. */
  readonly verb: string;
  readonly variables: readonly TemplateVariable[];
}

/** A path template that does not follow the google.api.http grammar. */
export class PathTemplateError extends Error {
  override readonly name = "PathTemplateError";
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a template of the grammar in google/api/http.proto:
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     Verb     = ":" LITERAL ;
 *
 * `{x}` is `{x=*}`; `**` may only be the last segment.
 */
export function parsePathTemplate(template: string): PathTemplate {
  const fail = (why: string): never => {
    throw new PathTemplateError(`path template "${template}": ${why}`);
  };
  if (!template.startsWith("/")) fail("must start with '/'");
  let body = template.slice(1);
  let verb = "";
  const verbAt = verbColon(body);
  if (verbAt >= 0) {
    verb = body.slice(verbAt + 1);
    body = body.slice(0, verbAt);
    if (verb === "" || /[/{}*]/.test(verb)) fail(`verb "${verb}" must be a non-empty literal`);
  }
  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  for (const part of splitTopLevel(body, fail)) {
    if (part.startsWith("{")) {
      if (!part.endsWith("}")) fail(`variable "${part}" is not closed with '}'`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf("=");
      const name = eq < 0 ? inner : inner.slice(0, eq);
      const fieldPath = name.split(".");
      if (fieldPath.some((p) => !IDENT.test(p))) fail(`variable "${name}" is not a field path`);
      const start = segments.length;
      const sub = eq < 0 ? "*" : inner.slice(eq + 1);
      if (sub === "") fail(`variable "${name}" has an empty pattern after '='`);
      for (const s of sub.split("/")) {
        if (s.includes("{") || s.includes("}")) fail(`variable "${name}" contains another variable`);
        segments.push(plainSegment(s, fail));
      }
      const multiSegment = segments.length - start > 1 || segments[segments.length - 1]?.kind === "deep";
      if (variables.some((v) => v.fieldPath.join(".") === name)) fail(`variable "${name}" appears twice`);
      variables.push({ fieldPath, start, end: segments.length, multiSegment });
    } else {
      segments.push(plainSegment(part, fail));
    }
  }
  const deepAt = segments.findIndex((s) => s.kind === "deep");
  if (deepAt >= 0 && deepAt !== segments.length - 1) fail("'**' must be the last segment");
  return { template, segments, verb, variables };
}

function plainSegment(text: string, fail: (why: string) => never): TemplateSegment {
  if (text === "*") return { kind: "wildcard" };
  if (text === "**") return { kind: "deep" };
  if (text === "") fail("has an empty segment");
  if (/[*{}=]/.test(text)) fail(`segment "${text}" mixes a literal with '*', '{', '}' or '='`);
  return { kind: "literal", value: text };
}

/** Index of the verb's ':' (after the last '/', outside braces), or -1. */
function verbColon(body: string): number {
  let depth = 0;
  for (let i = body.length - 1; i >= 0; i--) {
    const c = body[i];
    if (c === "}") depth++;
    else if (c === "{") depth--;
    else if (depth === 0 && c === "/") return -1;
    else if (depth === 0 && c === ":") return i;
  }
  return -1;
}

function splitTopLevel(body: string, fail: (why: string) => never): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "{") {
      if (depth > 0) fail("variables cannot be nested");
      depth++;
    } else if (c === "}") {
      if (depth === 0) fail("has '}' without '{'");
      depth--;
    } else if (c === "/" && depth === 0) {
      parts.push(body.slice(from, i));
      from = i + 1;
    }
  }
  if (depth !== 0) fail("has '{' without '}'");
  parts.push(body.slice(from));
  return parts;
}
