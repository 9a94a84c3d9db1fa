import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pkg = fileURLToPath(new URL("..", import.meta.url));

describe("the README's runnable example", () => {
  it("runs a configured user plugin and a retry to the other endpoint", () => {
    const out = execFileSync(process.execPath, ["--conditions=@weft/source", "examples/plugin-chain.ts"], {
      cwd: pkg,
      encoding: "utf8",
      timeout: 20_000,
    });
    // The retry goes to the endpoint the failed attempt did not use.
    const m = out.match(
      /status 200 after 2 attempts \((10\.0\.0\.[12]:15008) then (10\.0\.0\.[12]:15008)\), tenant acme/,
    );
    expect(m?.[1]).not.toBe(m?.[2]);
    expect(out).toContain("callee identity expected: spiffe://weft.local/ns/shop/sa/orders");
    // A filter plugin runs once per call, before the attempt loop: it sees the final answer.
    expect(out).toContain("outcome plugin saw: shop.v1.Orders/Get answered 200");
  });
});
