import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MeshHeaders } from "../../src/call/mesh-headers.ts";

// The contract is Fetch's Headers: the same operations must leave both in the same state.
const name = fc.constantFrom(
  "Content-Type",
  "content-type",
  "X-Trace",
  "x-trace",
  "Set-Cookie",
  "grpc-timeout",
  "a_b",
);
const value = fc.constantFrom("a", " padded\t", "x, y", "", "application/grpc", "k=v; Path=/");
const op = fc.oneof(
  fc.tuple(fc.constant("append" as const), name, value),
  fc.tuple(fc.constant("set" as const), name, value),
  fc.tuple(fc.constant("delete" as const), name, fc.constant("")),
);

function state(h: Headers): unknown {
  return {
    entries: [...h.entries()],
    keys: [...h.keys()],
    values: [...h.values()],
    cookies: h.getSetCookie(),
    gets: ["content-type", "X-TRACE", "set-cookie", "grpc-timeout", "a_b", "absent"].map((n) => [
      h.get(n),
      h.has(n),
    ]),
  };
}

describe("MeshHeaders", () => {
  it("behaves as Fetch Headers under any sequence of append, set and delete", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const ours = new MeshHeaders();
        const theirs = new Headers();
        for (const [kind, n, v] of ops) {
          if (kind === "delete") {
            ours.delete(n);
            theirs.delete(n);
          } else {
            ours[kind](n, v);
            theirs[kind](n, v);
          }
        }
        expect(state(ours)).toEqual(state(theirs));
        expect(state(new MeshHeaders(ours))).toEqual(state(theirs));
        // Handing ours to Fetch gives what handing Fetch's own copy would.
        expect(state(new Headers(ours))).toEqual(state(new Headers(theirs)));
      }),
      { numRuns: 300 },
    );
  });

  it("accepts every HeadersInit form", () => {
    const record = new MeshHeaders({ "Content-Type": "text/plain", te: "trailers" });
    const pairs = new MeshHeaders([
      ["content-type", "text/plain"],
      ["TE", "trailers"],
    ]);
    const fromFetch = new MeshHeaders(new Headers({ "content-type": "text/plain", te: "trailers" }));
    for (const h of [record, pairs, fromFetch]) {
      expect([...h]).toEqual([
        ["content-type", "text/plain"],
        ["te", "trailers"],
      ]);
    }
  });

  it("copies are independent of the original", () => {
    const a = new MeshHeaders({ x: "1" });
    const b = new MeshHeaders(a);
    b.set("x", "2");
    b.append("set-cookie", "c=1");
    expect(a.get("x")).toBe("1");
    expect(a.getSetCookie()).toEqual([]);
  });

  it("refuses names and values Fetch refuses, naming the header", () => {
    const h = new MeshHeaders();
    expect(() => h.set("bad name", "v")).toThrow(/invalid header name: "bad name"/);
    expect(() => h.set("x-split", "a\r\nInjected: yes")).toThrow(/x-split/);
    expect(() => h.append("x-nul", "a\0b")).toThrow(/x-nul/);
    expect(() => new MeshHeaders([["only-name"]] as unknown as [string, string][])).toThrow(
      /exactly a name and a value/,
    );
  });
});
