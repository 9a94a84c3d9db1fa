import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const start = (args: string[]) =>
  spawnSync(process.execPath, ["--conditions=@weft/source", "tools/demo/start.ts", ...args], {
    cwd: root,
    encoding: "utf8",
  });

describe("npm start", () => {
  it("prints the services, routes and policies of examples/mesh.yaml", () => {
    const out = execFileSync(process.execPath, ["--conditions=@weft/source", "tools/demo/start.ts"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(out).toContain("trust domain weft.local");
    expect(out).toContain("shop/orders  mode INPROCESS  ports 8081/CONNECT");
    expect(out).toContain(
      "shop/inventory-reads: inventory shop.v1.InventoryService/GetStock -> inventory (100)",
    );
    expect(out).toContain("ALLOW on inventory");
  });

  it("exits 1 with file:line:col and a suggestion for a bad file, and no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-start-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      "apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: a }\nspec:\n  mdoe: SIDECAR\n",
    );
    const r = start([file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `${file}:5:3: spec.mdoe: unknown field "mdoe" in Service; did you mean "mode"?`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
