/**
 * The headers of a mesh call: the Fetch `Headers` interface over a plain Map.
 *
 * Every call gets a header map and every attempt a copy of it, so this sits on the hot
 * path: undici's `Headers` spends most of the chain's per-call budget in WebIDL
 * conversion, a sorted-list rebuild on every read after a write, and a token regex per
 * name. This keeps the same contract (case-insensitive names, values joined with ", ",
 * Set-Cookie kept apart, iteration in lexicographic name order, the same validation) and
 * is accepted wherever a `HeadersInit` is, since it iterates as name/value pairs.
 */

/** RFC 9110 token characters: what a field name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values may not hold NUL, CR or LF (the rest is the transport's to refuse). */
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;
/** Leading and trailing HTTP whitespace, which Fetch strips from values. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * Names already checked, so the regex runs once per distinct name rather than per call.
 * Bounded: a peer sending endless new names must not grow it without limit.
 */
const knownNames = new Set<string>();
const KNOWN_NAMES_MAX = 512;

function normalizeName(name: string): string {
  if (knownNames.has(name)) return name;
  const lower = name.toLowerCase();
  if (knownNames.has(lower)) return lower;
  if (!TOKEN.test(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
  if (knownNames.size < KNOWN_NAMES_MAX) knownNames.add(lower);
  return lower;
}

function normalizeValue(name: string, value: string): string {
  const v = String(value);
  const trimmed =
    v.length > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32)
      ? v.replace(EDGE_WHITESPACE, "")
      : v;
  if (FORBIDDEN_IN_VALUE.test(trimmed)) {
    throw new TypeError(`invalid value for header ${name}: it holds NUL, CR or LF`);
  }
  return trimmed;
}

type Init = ConstructorParameters<typeof Headers>[0] | MeshHeaders | null;

export class MeshHeaders implements Headers {
  readonly #fields: Map<string, string>;
  #cookies: string[] | undefined;

  constructor(init?: Init) {
    if (init instanceof MeshHeaders) {
      this.#fields = new Map(init.#fields);
      this.#cookies = init.#cookies?.slice();
      return;
    }
    this.#fields = new Map();
    if (init == null) return;
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const pair of init as Iterable<readonly string[]>) {
        if (pair.length !== 2) throw new TypeError("a header pair must hold exactly a name and a value");
        this.append(pair[0] as string, pair[1] as string);
      }
      return;
    }
    for (const name of Object.keys(init)) this.append(name, (init as Record<string, string>)[name] as string);
  }

  append(name: string, value: string): void {
    const key = normalizeName(name);
    const v = normalizeValue(key, value);
    if (key === "set-cookie") {
      if (this.#cookies) this.#cookies.push(v);
      else this.#cookies = [v];
      return;
    }
    const existing = this.#fields.get(key);
    this.#fields.set(key, existing === undefined ? v : `${existing}, ${v}`);
  }

  set(name: string, value: string): void {
    const key = normalizeName(name);
    const v = normalizeValue(key, value);
    if (key === "set-cookie") {
      this.#cookies = [v];
      return;
    }
    this.#fields.set(key, v);
  }

  /**
   * `set` for a lowercase name and a value the mesh itself made (a deadline it encoded):
   * nothing to validate, and this runs once per attempt.
   */
  setOwn(name: string, value: string): void {
    this.#fields.set(name, value);
  }

  /** `get` for a lowercase name that is not set-cookie (one the mesh reads per call): no normalising. */
  getOwn(name: string): string | null {
    return this.#fields.get(name) ?? null;
  }

  get(name: string): string | null {
    const key = normalizeName(name);
    if (key === "set-cookie") return this.#cookies?.length ? this.#cookies.join(", ") : null;
    return this.#fields.get(key) ?? null;
  }

  has(name: string): boolean {
    const key = normalizeName(name);
    if (key === "set-cookie") return (this.#cookies?.length ?? 0) > 0;
    return this.#fields.has(key);
  }

  delete(name: string): void {
    const key = normalizeName(name);
    if (key === "set-cookie") this.#cookies = undefined;
    else this.#fields.delete(key);
  }

  getSetCookie(): string[] {
    return this.#cookies?.slice() ?? [];
  }

  forEach(callbackfn: (value: string, key: string, iterable: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.#sorted()) callbackfn.call(thisArg, value, name, this);
  }

  entries(): IterableIterator<[string, string]> {
    return this.#sorted()[Symbol.iterator]();
  }

  keys(): IterableIterator<string> {
    return this.#sorted()
      .map(([name]) => name)
      [Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return this.#sorted()
      .map(([, value]) => value)
      [Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }

  /** Fetch's "sort and combine": names in order, each Set-Cookie value on its own. */
  #sorted(): [string, string][] {
    const out: [string, string][] = [];
    for (const entry of this.#fields) out.push(entry);
    if (this.#cookies) for (const cookie of this.#cookies) out.push(["set-cookie", cookie]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
