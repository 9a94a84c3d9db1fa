import type { PathTemplate } from "./path-template.ts";

/** A successful match: the route's value and its variables' raw (still percent-encoded) values. */
export interface PathMatch<T> {
  readonly value: T;
  readonly template: PathTemplate;
  /** Raw values in the order of `template.variables`. */
  readonly rawVars: readonly string[];
}

interface Leaf<T> {
  readonly value: T;
  readonly template: PathTemplate;
}

interface Node<T> {
  readonly literals: Map<string, Node<T>>;
  wildcard: Node<T> | undefined;
  /** Routes ending in `**`, by verb. */
  readonly deep: Map<string, Leaf<T>>;
  /** Routes ending here, by verb. */
  readonly ends: Map<string, Leaf<T>>;
}

function node<T>(): Node<T> {
  return { literals: new Map(), wildcard: undefined, deep: new Map(), ends: new Map() };
}

/**
 * Matches (HTTP method, path) to the route of the most specific template: a trie per HTTP
 * method over path segments, searched literal first, then `*`, then `**`, so
 * `/v1/shelves/featured/books` beats `/v1/shelves/{shelf}/books`. A path whose last segment
 * has a `:verb` is tried against templates with that verb first, then as a plain segment.
 */
export class PathMatcher<T> {
  readonly #roots = new Map<string, Node<T>>();

  /** Adds a route; throws when a route with the same shape already exists for the method. */
  add(httpMethod: string, template: PathTemplate, value: T, describe: (existing: T) => string): void {
    let root = this.#roots.get(httpMethod);
    if (!root) {
      root = node();
      this.#roots.set(httpMethod, root);
    }
    let at = root;
    let leaves = at.ends;
    for (const seg of template.segments) {
      if (seg.kind === "deep") {
        leaves = at.deep;
        break;
      }
      if (seg.kind === "wildcard") {
        at.wildcard ??= node();
        at = at.wildcard;
      } else {
        let next = at.literals.get(seg.value);
        if (!next) {
          next = node();
          at.literals.set(seg.value, next);
        }
        at = next;
      }
      leaves = at.ends;
    }
    const existing = leaves.get(template.verb);
    if (existing) {
      throw new Error(
        `${httpMethod} ${template.template} conflicts with ${httpMethod} ${existing.template.template} of ${describe(existing.value)}`,
      );
    }
    leaves.set(template.verb, { value, template });
  }

  /** The most specific route for a path (no query string), or undefined. */
  match(httpMethod: string, path: string): PathMatch<T> | undefined {
    const root = this.#roots.get(httpMethod);
    if (!root || path.charCodeAt(0) !== 47 /* / */) return undefined;
    const segments = path.slice(1).split("/");
    const last = segments[segments.length - 1] ?? "";
    const colon = last.lastIndexOf(":");
    if (colon >= 0) {
      const verb = last.slice(colon + 1);
      const withoutVerb = segments.slice();
      withoutVerb[withoutVerb.length - 1] = last.slice(0, colon);
      const leaf = search(root, withoutVerb, 0, verb);
      if (leaf) return withVars(leaf, withoutVerb);
    }
    const leaf = search(root, segments, 0, "");
    return leaf ? withVars(leaf, segments) : undefined;
  }
}

function search<T>(at: Node<T>, segments: readonly string[], i: number, verb: string): Leaf<T> | undefined {
  if (i === segments.length) return at.ends.get(verb) ?? at.deep.get(verb);
  const seg = segments[i] as string;
  const literal = at.literals.get(seg);
  if (literal) {
    const found = search(literal, segments, i + 1, verb);
    if (found) return found;
  }
  if (at.wildcard && seg !== "") {
    const found = search(at.wildcard, segments, i + 1, verb);
    if (found) return found;
  }
  return at.deep.get(verb);
}

function withVars<T>(leaf: Leaf<T>, segments: readonly string[]): PathMatch<T> {
  const vars = leaf.template.variables;
  const segmentCount = leaf.template.segments.length;
  const rawVars: string[] = new Array(vars.length);
  for (let v = 0; v < vars.length; v++) {
    const variable = vars[v];
    if (!variable) continue;
    // A variable ending in `**` takes every remaining segment of the path.
    const end =
      variable.end === segmentCount && leaf.template.segments[segmentCount - 1]?.kind === "deep"
        ? segments.length
        : variable.end;
    rawVars[v] = segments.slice(variable.start, end).join("/");
  }
  return { value: leaf.value, template: leaf.template, rawVars };
}
