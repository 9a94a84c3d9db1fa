import type { PeerIdentity } from "../call/call.ts";

/** A SPIFFE ID split into its parts; `id` is the canonical string. */
export interface SpiffeId {
  readonly id: string;
  readonly trustDomain: string;
  /** "" for a trust domain's own ID (`spiffe://example.org`), else "/seg/seg...". */
  readonly path: string;
  readonly segments: readonly string[];
}

/** A string that is not a valid SPIFFE ID, or not the Weft workload form. */
export class SpiffeIdError extends Error {
  override readonly name = "SpiffeIdError";
  /** What is wrong, without the ID itself ("path has an empty segment"). */
  readonly problem: string;
  readonly input: string;

  constructor(input: string, problem: string) {
    super(`invalid SPIFFE ID ${JSON.stringify(clip(input))}: ${problem}`);
    this.input = input;
    this.problem = problem;
  }
}

const SCHEME = "spiffe://";
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;
const WEFT_FORM = "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>";

/**
 * Why `input` is not a valid SPIFFE ID (per the SPIFFE ID specification), or undefined
 * when it is one.
 */
export function spiffeIdProblem(input: string): string | undefined {
  if (input === "") return "it is empty";
  const bytes = utf8Length(input);
  if (bytes > MAX_ID_BYTES) return `it is ${bytes} bytes long; a SPIFFE ID is at most ${MAX_ID_BYTES} bytes`;
  if (!input.startsWith(SCHEME)) return schemeProblem(input);
  if (input.includes("?")) return "it has a query ('?'); SPIFFE IDs have none";
  if (input.includes("#")) return "it has a fragment ('#'); SPIFFE IDs have none";
  const slash = input.indexOf("/", SCHEME.length);
  const authority = slash < 0 ? input.slice(SCHEME.length) : input.slice(SCHEME.length, slash);
  const tdProblem = trustDomainProblem(authority);
  if (tdProblem) return tdProblem;
  return slash < 0 ? undefined : pathProblem(input.slice(slash));
}

/** Why `trustDomain` is not a valid trust domain name, or undefined. */
export function trustDomainProblem(trustDomain: string): string | undefined {
  if (trustDomain === "") return "it has no trust domain";
  if (trustDomain.includes("@")) return "it has userinfo ('@') before the trust domain; SPIFFE IDs have none";
  if (trustDomain.includes(":")) return "it has a port; a trust domain has none";
  if (trustDomain.length > MAX_TRUST_DOMAIN_BYTES) {
    return `trust domain is ${trustDomain.length} bytes long; at most ${MAX_TRUST_DOMAIN_BYTES} are allowed`;
  }
  for (const ch of trustDomain) {
    if (isTrustDomainChar(ch)) continue;
    if (ch >= "A" && ch <= "Z") return `trust domain ${JSON.stringify(trustDomain)} must be lowercase`;
    return `trust domain ${JSON.stringify(trustDomain)} has the character ${JSON.stringify(ch)}; only a-z, 0-9, '.', '-' and '_' are allowed`;
  }
  return undefined;
}

/** Why `segment` cannot be a path segment of a SPIFFE ID, or undefined. */
export function pathSegmentProblem(segment: string): string | undefined {
  if (segment === "") return "path has an empty segment";
  if (segment === "." || segment === "..") return `path has a '${segment}' segment`;
  for (const ch of segment) {
    if (!isPathChar(ch)) {
      return `path segment ${JSON.stringify(segment)} has the character ${JSON.stringify(ch)}; only letters, digits, '.', '-' and '_' are allowed`;
    }
  }
  return undefined;
}

/** Parses and validates a SPIFFE ID; throws SpiffeIdError naming what is wrong. */
export function parseSpiffeId(input: string): SpiffeId {
  const problem = spiffeIdProblem(input);
  if (problem) throw new SpiffeIdError(input, problem);
  const slash = input.indexOf("/", SCHEME.length);
  if (slash < 0) return { id: input, trustDomain: input.slice(SCHEME.length), path: "", segments: [] };
  const path = input.slice(slash);
  return {
    id: input,
    trustDomain: input.slice(SCHEME.length, slash),
    path,
    segments: path.slice(1).split("/"),
  };
}

/** Builds a SPIFFE ID from a trust domain and path segments; throws SpiffeIdError when a part is invalid. */
export function formatSpiffeId(trustDomain: string, segments: readonly string[] = []): string {
  const id =
    segments.length === 0 ? `${SCHEME}${trustDomain}` : `${SCHEME}${trustDomain}/${segments.join("/")}`;
  const problem = trustDomainProblem(trustDomain) ?? firstSegmentProblem(segments) ?? spiffeIdProblem(id);
  if (problem) throw new SpiffeIdError(id, problem);
  return id;
}

/** Parses a Weft workload identity, spiffe://<td>/ns/<ns>/sa/<sa>; throws SpiffeIdError. */
export function parsePeerIdentity(input: string): PeerIdentity {
  const id = parseSpiffeId(input);
  const [ns, namespace, sa, serviceAccount] = id.segments;
  if (id.segments.length !== 4 || ns !== "ns" || sa !== "sa" || !namespace || !serviceAccount) {
    throw new SpiffeIdError(input, `it is not a Weft workload identity; expected ${WEFT_FORM}`);
  }
  return { spiffeId: id.id, trustDomain: id.trustDomain, namespace, serviceAccount };
}

/** The identity of a workload; throws SpiffeIdError when a part is invalid. */
export function peerIdentity(trustDomain: string, namespace: string, serviceAccount: string): PeerIdentity {
  const spiffeId = formatSpiffeId(trustDomain, ["ns", namespace, "sa", serviceAccount]);
  return { spiffeId, trustDomain, namespace, serviceAccount };
}

/** The SPIFFE ID string of a workload identity. */
export function formatPeerIdentity(
  identity: Pick<PeerIdentity, "trustDomain" | "namespace" | "serviceAccount">,
): string {
  return peerIdentity(identity.trustDomain, identity.namespace, identity.serviceAccount).spiffeId;
}

/**
 * True when both name the same workload. Valid SPIFFE IDs have one spelling (lowercase
 * scheme and trust domain, case-sensitive path, no escapes), so this is string equality.
 */
export function sameIdentity(a: PeerIdentity | string, b: PeerIdentity | string): boolean {
  return (typeof a === "string" ? a : a.spiffeId) === (typeof b === "string" ? b : b.spiffeId);
}

/** Orders identities by trust domain, namespace, then service account (for stable listings). */
export function compareIdentities(a: PeerIdentity, b: PeerIdentity): number {
  return (
    compareStrings(a.trustDomain, b.trustDomain) ||
    compareStrings(a.namespace, b.namespace) ||
    compareStrings(a.serviceAccount, b.serviceAccount)
  );
}

function schemeProblem(input: string): string {
  if (input.slice(0, SCHEME.length).toLowerCase() === SCHEME) return "scheme must be lowercase 'spiffe'";
  const sep = input.indexOf("://");
  if (sep > 0) return `scheme ${JSON.stringify(input.slice(0, sep))} is not 'spiffe'`;
  return "it has no 'spiffe://' scheme";
}

function pathProblem(path: string): string | undefined {
  if (path === "/" || path.endsWith("/")) return "path ends with '/'";
  if (path.includes("%")) return "path has a percent-encoded character; SPIFFE IDs allow none";
  let start = 1;
  for (;;) {
    const end = path.indexOf("/", start);
    const problem = pathSegmentProblem(end < 0 ? path.slice(start) : path.slice(start, end));
    if (problem || end < 0) return problem;
    start = end + 1;
  }
}

function firstSegmentProblem(segments: readonly string[]): string | undefined {
  for (const s of segments) {
    const problem = pathSegmentProblem(s);
    if (problem) return problem;
  }
  return undefined;
}

function isTrustDomainChar(ch: string): boolean {
  return (ch >= "a" && ch <= "z") || (ch >= "0" && ch <= "9") || ch === "." || ch === "-" || ch === "_";
}

function isPathChar(ch: string): boolean {
  return (
    (ch >= "a" && ch <= "z") ||
    (ch >= "A" && ch <= "Z") ||
    (ch >= "0" && ch <= "9") ||
    ch === "." ||
    ch === "-" ||
    ch === "_"
  );
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
