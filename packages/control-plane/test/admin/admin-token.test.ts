import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { newAdminToken } from "../../src/admin/admin-token.ts";
import { Resources } from "../helpers.ts";

const res = new Resources();
afterEach(() => res.closeAll());

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

describe("the admin API's token", { timeout: 30_000 }, () => {
  it("lets in only the control plane's own token, and says where to find it", async () => {
    const dataDir = await res.tempDir();
    const cp = await res.controlPlane({ dataDir });
    expect(cp.adminToken).toMatch(/^weft-admin-[\w-]{43}$/);
    expect(cp.adminTokenFile).toBe(join(dataDir, "admin-token"));

    expect(await codeOf(res.admin(cp).getConfig({}))).toBe("ok");
    for (const adminToken of [newAdminToken(), `${cp.adminToken}x`, cp.adminToken.slice(0, -1), ""]) {
      expect(await codeOf(res.admin({ url: cp.url, adminToken }).getConfig({}))).toBe(Code.Unauthenticated);
    }
    // Writes are refused as reads are, and the refusal names the file.
    const refused = await res
      .admin({ url: cp.url, adminToken: newAdminToken() })
      .createToken({ serviceAccount: "orders", namespace: "shop" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).rawMessage).toContain(join(dataDir, "admin-token"));
    // Data planes and the CA are not behind it: they authenticate with bootstrap tokens and certificates.
    const dp = res.dataPlane(cp.url, { service: "orders", namespace: "shop", instanceId: "o-1" });
    await dp.holds(() => true, "a snapshot without an admin token");
  });

  it("keeps the token across restarts on one data directory, and takes one given instead", async () => {
    const dataDir = await res.tempDir();
    const first = await res.controlPlane({ dataDir });
    const token = first.adminToken;
    await first.close();
    const second = await res.controlPlane({ dataDir });
    expect(second.adminToken).toBe(token);
    expect((await readFile(join(dataDir, "admin-token"), "utf8")).trim()).toBe(token);
    await second.close();

    const given = newAdminToken();
    const third = await res.controlPlane({ dataDir, adminToken: given });
    expect([third.adminToken, third.adminTokenFile]).toEqual([given, undefined]);
    expect(await codeOf(res.admin({ url: third.url, adminToken: token }).getConfig({}))).toBe(
      Code.Unauthenticated,
    );
    expect(await codeOf(res.admin(third).getConfig({}))).toBe("ok");
  });

  it("refuses to start on a token file that holds no token, naming it", async () => {
    const dataDir = await res.tempDir();
    await writeFile(join(dataDir, "admin-token"), "not a token\n");
    await expect(res.controlPlane({ dataDir })).rejects.toThrow(
      `${join(dataDir, "admin-token")} is not an admin token`,
    );
  });
});
