import { describe, expect, it } from "vitest";
import { ServiceKeyed } from "../../src/call/service-keyed.ts";

describe("ServiceKeyed", () => {
  it("finds values by namespace and service, and never answers from a stale last hit", () => {
    const m = new ServiceKeyed<string>();
    m.set("shop", "orders", "a");
    m.set("billing", "orders", "b");
    expect(m.get("shop", "orders")).toBe("a");
    expect(m.get("billing", "orders")).toBe("b");
    expect(m.get("shop", "orders")).toBe("a");
    // Replaced and removed after being the last hit.
    m.set("shop", "orders", "c");
    expect(m.get("shop", "orders")).toBe("c");
    expect(m.delete("shop", "orders")).toBe(true);
    expect(m.get("shop", "orders")).toBeUndefined();
    expect(m.get("shop", "payments")).toBeUndefined();
    expect([...m.values()]).toEqual(["b"]);
  });
});
