import { describe, expect, it } from "vitest";
import { hashString, xxhash32 } from "../../src/balancer/hash.ts";

describe("xxhash32", () => {
  it("matches the reference implementation's vectors", () => {
    expect(hashString("")).toBe(0x02cc5d05);
    expect(hashString("a")).toBe(0x550d7456);
    expect(hashString("abc")).toBe(0x32d153ff);
    // Longer than 16 bytes: the four-lane loop.
    expect(hashString("Nobody inspects the spammish repetition")).toBe(0xe2293b2f);
  });

  it("hashes strings as their UTF-8 bytes", () => {
    const s = "zürich-€-东京";
    expect(hashString(s, 7)).toBe(xxhash32(new TextEncoder().encode(s), 7));
  });

  it("depends on the seed", () => {
    expect(hashString("orders", 1)).not.toBe(hashString("orders", 2));
  });
});
