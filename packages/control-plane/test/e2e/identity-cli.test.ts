import { afterEach, describe, expect, it } from "vitest";
import { Resources } from "../helpers.ts";
import { weft } from "../weft-cli.ts";

const res = new Resources();
afterEach(() => res.closeAll());

const ORDERS = "spiffe://weft.local/ns/shop/sa/orders";

describe("weft identity", { timeout: 60_000 }, () => {
  it("revokes, lists (table, json, yaml) and restores an identity; refuses a bad ID and a second restore", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const server = ["--server", cp.url];

    const empty = await weft("identity", "list", ...server);
    expect([empty.code, empty.stdout]).toEqual([0, "no revoked identities\n"]);

    const revoked = await weft("identity", "revoke", ORDERS, "--reason", "key leaked", ...server);
    expect([revoked.code, revoked.stdout]).toEqual([0, `revoked ${ORDERS}\n`]);
    expect(revoked.stderr).toContain("stays valid until it expires");
    expect(await cp.store.getRevocation(ORDERS)).toMatchObject({ spiffeId: ORDERS, reason: "key leaked" });

    const listed = await weft("identity", "list", ...server);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SPIFFE ID\s+REVOKED\s+REASON$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${ORDERS.replaceAll(".", "\\.")}\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+key leaked$`,
      ),
    );
    const json = JSON.parse((await weft("identity", "list", "-o", "json", ...server)).stdout) as unknown[];
    expect(json).toEqual([{ spiffeId: ORDERS, reason: "key leaked", revokedAt: expect.any(String) }]);
    expect((await weft("identity", "list", "-o", "yaml", ...server)).stdout).toContain(`spiffeId: ${ORDERS}`);

    const foreign = await weft("identity", "revoke", "spiffe://other.test/ns/shop/sa/orders", ...server);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('is in trust domain "other.test"');

    const restored = await weft("identity", "restore", ORDERS, ...server);
    expect([restored.code, restored.stdout]).toEqual([0, `restored ${ORDERS}\n`]);
    expect(await cp.store.getRevocation(ORDERS)).toBeUndefined();

    const again = await weft("identity", "restore", ORDERS, ...server);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${ORDERS} is not revoked`);
  });

  it("exits 1 with usage for a mistake on the command line, sending nothing", async () => {
    for (const args of [
      ["identity"],
      ["identity", "revoke"],
      ["identity", "restore", ORDERS, ORDERS],
      ["identity", "list", "--reason", "x"],
      ["identity", "forget", ORDERS],
    ]) {
      const out = await weft(...args, "--server", "http://127.0.0.1:1");
      expect([args, out.code, out.stderr.includes("usage: weft identity revoke")]).toEqual([args, 1, true]);
    }
  });
});
