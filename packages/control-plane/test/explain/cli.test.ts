import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { parseMeshConfig } from "@weft/core";
import { afterEach, describe, expect, it } from "vitest";
import { Resources } from "../helpers.ts";
import { weftInProcess } from "../weft-cli.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

const text = readFileSync(new URL("./fixtures/shop.yaml", import.meta.url), "utf8");

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("weft explain against a running control plane", () => {
  it("explains from the live config: exit 0 allowed, 3 denied, 1 for a mistake, 2 unreachable", async () => {
    const cp = await resources.controlPlane({ dataDir: await resources.tempDir() });
    await resources.admin(cp).apply({ config: parseMeshConfig({ file: "shop.yaml", text }) });
    const explain = (...args: string[]) => weftInProcess(["explain", "--server", cp.url, ...args]);

    const allowed = await explain("--from", "frontend", "--to", "orders", "shop.v1.OrderService/Get");
    expect(allowed.err).toBe("");
    expect(allowed.code).toBe(0);
    expect(allowed.out).toContain(
      "shop/frontend -> shop/orders: shop.v1.OrderService/Get (POST /shop.v1.OrderService/Get)",
    );
    expect(allowed.out).toContain("caller    spiffe://example.org/ns/shop/sa/frontend (sidecar-outbound)");
    expect(allowed.out).toMatch(/5 +retry +service shop\/orders +attempts 3, on unavailable/);
    expect(allowed.out).toContain("endpoints  3 (2 healthy) in zones a, b");
    expect(allowed.out).toContain("authorization: ALLOWED: allowed by shop/frontend-may-order rule 1");
    expect(allowed.out).toContain("verdict: ALLOWED");

    const denied = await explain(
      "--from",
      "frontend",
      "--to",
      "orders-v2",
      "shop.v1.OrderService/Delete",
      "-o",
      "json",
    );
    expect(denied.code).toBe(3);
    const json = JSON.parse(denied.out);
    expect(json.allowed).toBe(false);
    expect(json.configVersion).toBe("1");
    expect(json.destinations[0].authorization).toMatchObject({
      policy: "shop/no-deletes-on-v2",
      ruleIndex: 0,
    });

    const canary = await explain(
      "--from=frontend",
      "--to=orders",
      "-H",
      "X-Canary=1",
      "shop.v1.OrderService/Get",
    );
    expect(canary.code).toBe(0);
    expect(canary.out).toContain(
      'route     shop/orders-canary (priority 10) matching [header x-canary = "1"]',
    );
    expect(canary.out).toContain("destination shop/orders-v2");

    const mistake = await explain("--from", "frontend", "--to", "orders", "Get");
    expect(mistake.code).toBe(1);
    expect(mistake.err).toContain('"Get" is neither an RPC method');
    const noFrom = await explain("/x");
    expect(noFrom.code).toBe(1);
    expect(noFrom.err).toContain("needs --from");

    const gone = await weftInProcess([
      "explain",
      "--server",
      `http://127.0.0.1:${await closedPort()}`,
      "--from",
      "a",
      "--to",
      "b",
      "/",
    ]);
    expect(gone.code).toBe(2);
    expect(gone.err).toContain("cannot reach the control plane");
  });
});
