import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareIdentities,
  formatPeerIdentity,
  formatSpiffeId,
  parsePeerIdentity,
  parseSpiffeId,
  peerIdentity,
  SpiffeIdError,
  sameIdentity,
} from "../../src/identity/index.ts";

const tdChars = "abcdefghijklmnopqrstuvwxyz0123456789.-_".split("");
const segChars = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"];
const trustDomain = fc.string({ unit: fc.constantFrom(...tdChars), minLength: 1, maxLength: 40 });
const segment = fc
  .string({ unit: fc.constantFrom(...segChars), minLength: 1, maxLength: 30 })
  .filter((s) => s !== "." && s !== "..");

describe("SPIFFE IDs", () => {
  it("format then parse gives back the workload identity (property)", () => {
    fc.assert(
      fc.property(trustDomain, segment, segment, (td, ns, sa) => {
        const id = peerIdentity(td, ns, sa);
        expect(id.spiffeId).toBe(`spiffe://${td}/ns/${ns}/sa/${sa}`);
        expect(parsePeerIdentity(id.spiffeId)).toEqual(id);
        expect(formatPeerIdentity(parsePeerIdentity(id.spiffeId))).toBe(id.spiffeId);
      }),
      { numRuns: 500 },
    );
  });

  it("format then parse gives back any SPIFFE ID's parts (property)", () => {
    fc.assert(
      fc.property(trustDomain, fc.array(segment, { maxLength: 6 }), (td, segments) => {
        const id = formatSpiffeId(td, segments);
        const parsed = parseSpiffeId(id);
        expect(parsed.trustDomain).toBe(td);
        expect(parsed.segments).toEqual(segments);
        expect(formatSpiffeId(parsed.trustDomain, parsed.segments)).toBe(id);
      }),
      { numRuns: 500 },
    );
  });

  it("any string either parses to itself or is rejected with a SpiffeIdError (property)", () => {
    const near = fc.oneof(
      fc.string(),
      fc
        .tuple(fc.constantFrom("spiffe://", "SPIFFE://", "spiffe:/", "https://"), fc.string())
        .map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(near, (s) => {
        try {
          expect(parseSpiffeId(s).id).toBe(s);
        } catch (err) {
          expect(err).toBeInstanceOf(SpiffeIdError);
          expect((err as SpiffeIdError).problem.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ["", "it is empty"],
    ["weft.local/ns/a/sa/b", "no 'spiffe://' scheme"],
    ["https://weft.local/ns/a/sa/b", `scheme "https" is not 'spiffe'`],
    ["SPIFFE://weft.local/ns/a/sa/b", "scheme must be lowercase"],
    ["spiffe://", "no trust domain"],
    ["spiffe:///ns/a", "no trust domain"],
    ["spiffe://Weft.local/ns/a", `trust domain "Weft.local" must be lowercase`],
    ["spiffe://weft local/ns/a", `has the character " "`],
    ["spiffe://weft.local:8443/ns/a", "has a port"],
    ["spiffe://user@weft.local/ns/a", "has userinfo"],
    ["spiffe://weft.local/ns/a?x=1", "has a query"],
    ["spiffe://weft.local/ns/a#frag", "has a fragment"],
    ["spiffe://weft.local/", "path ends with '/'"],
    ["spiffe://weft.local/ns/a/", "path ends with '/'"],
    ["spiffe://weft.local/ns//sa/b", "empty segment"],
    ["spiffe://weft.local/ns/./sa", "a '.' segment"],
    ["spiffe://weft.local/ns/../sa", "a '..' segment"],
    ["spiffe://weft.local/ns/a%20b", "percent-encoded"],
    ["spiffe://weft.local/ns/a b", `segment "a b" has the character " "`],
    [`spiffe://weft.local/${"a".repeat(2040)}`, "2060 bytes long; a SPIFFE ID is at most 2048 bytes"],
    [`spiffe://${"a".repeat(256)}/x`, "at most 255"],
  ])("rejects %j: %s", (input, problem) => {
    expect(() => parseSpiffeId(input)).toThrow(SpiffeIdError);
    try {
      parseSpiffeId(input);
    } catch (err) {
      expect((err as SpiffeIdError).problem).toContain(problem);
      expect((err as SpiffeIdError).message).toContain("invalid SPIFFE ID");
    }
  });

  it("accepts the longest allowed ID and a trust domain's own ID", () => {
    const prefix = "spiffe://weft.local/";
    expect(parseSpiffeId(prefix + "a".repeat(2048 - prefix.length)).id).toHaveLength(2048);
    expect(parseSpiffeId("spiffe://weft.local")).toEqual({
      id: "spiffe://weft.local",
      trustDomain: "weft.local",
      path: "",
      segments: [],
    });
  });

  it.each([
    "spiffe://weft.local/ns/shop",
    "spiffe://weft.local/ns/shop/sa/web/extra",
    "spiffe://weft.local/namespace/shop/sa/web",
    "spiffe://weft.local/ns/shop/serviceaccount/web",
    "spiffe://weft.local",
  ])("rejects %s as a workload identity, naming the expected form", (input) => {
    expect(() => parsePeerIdentity(input)).toThrow(
      "expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>",
    );
  });

  it("formatting refuses invalid parts and names them", () => {
    expect(() => peerIdentity("weft.local", "", "web")).toThrow("empty segment");
    expect(() => peerIdentity("weft.local", "shop", "a/b")).toThrow(`segment "a/b" has the character "/"`);
    expect(() => peerIdentity("Weft", "shop", "web")).toThrow("must be lowercase");
  });

  it("compares identities", () => {
    const a = peerIdentity("weft.local", "shop", "web");
    const b = parsePeerIdentity("spiffe://weft.local/ns/shop/sa/web");
    const c = peerIdentity("weft.local", "shop", "Web");
    expect(sameIdentity(a, b)).toBe(true);
    expect(sameIdentity(a, "spiffe://weft.local/ns/shop/sa/web")).toBe(true);
    expect(sameIdentity(a, c)).toBe(false);
    const sorted = [peerIdentity("weft.local", "z", "a"), c, a, peerIdentity("a.org", "z", "z")].sort(
      compareIdentities,
    );
    expect(sorted.map((i) => i.spiffeId)).toEqual([
      "spiffe://a.org/ns/z/sa/z",
      "spiffe://weft.local/ns/shop/sa/Web",
      "spiffe://weft.local/ns/shop/sa/web",
      "spiffe://weft.local/ns/z/sa/a",
    ]);
  });
});
