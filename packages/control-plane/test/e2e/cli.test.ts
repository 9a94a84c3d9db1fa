import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { verifyToken } from "../../src/tokens/tokens.ts";
import { Resources, waitFor } from "../helpers.ts";
import { packageDir, weft } from "../weft-cli.ts";

const res = new Resources();
afterEach(() => res.closeAll());

const service = (name: string, extra = "") =>
  `apiVersion: weft.dev/v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  mode: SIDECAR\n${extra}`;

describe("the weft command", { timeout: 60_000 }, () => {
  it("applies a directory; a connected data plane gets the version and ACKs; weft status shows it", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const dir = await res.tempDir();
    await writeFile(join(dir, "orders.yaml"), service("orders"));
    await writeFile(join(dir, "inventory.yaml"), service("inventory"));
    const dp = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "orders-7f9c",
      addresses: ["127.0.0.2"],
      certificateExpiry: { seconds: BigInt(Math.floor(Date.now() / 1000) + 7200) },
    });
    const picky = res.dataPlane(
      cp.url,
      { service: "inventory", namespace: "shop", instanceId: "inv-1" },
      (s) => {
        if (s.config?.services.some((x) => x.name === "orders"))
          throw new Error("route to orders needs plugin x");
      },
    );
    await waitFor(
      () => dp.client.version !== undefined && picky.client.version !== undefined,
      "first versions",
    );

    const applied = await weft("apply", "-f", dir, "--server", cp.url);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toBe(
      "applied configuration version 1:\n  Service shop/inventory: created\n  Service shop/orders: created\n",
    );
    await dp.holds((s) => s.config?.services.length === 2, "the applied services");
    await waitFor(
      () => cp.hub.proxies().every((p) => p.ackedVersion.startsWith("1-") || p.nackedVersion !== ""),
      "answers",
    );

    const status = await weft("status", "--server", cp.url);
    expect(status.code).toBe(0);
    const lines = status.stdout.split("\n");
    expect(lines[0]).toBe(
      `control plane ${cp.url}: configuration version 1, 2 data planes connected, 1 rejecting their latest push`,
    );
    expect(lines[1]).toMatch(/^NAMESPACE\s+SERVICE\s+INSTANCE\s+VERSION\s+STATUS\s+CERT EXPIRES$/);
    const orders = lines.find((l) => l.includes("orders-7f9c")) ?? "";
    expect(orders).toMatch(
      new RegExp(`^shop\\s+orders\\s+orders-7f9c\\s+${dp.client.version}\\s+ACK\\s+\\S+Z \\(in 1h\\)$`),
    );
    const inventory = lines.find((l) => l.includes("inv-1")) ?? "";
    expect(inventory).toMatch(
      /^shop\s+inventory\s+inv-1\s+0-\w+\s+NACK 1-\w+: route to orders needs plugin x\s+-$/,
    );

    const json = await weft("get", "proxies", "-o", "json", "--server", cp.url);
    const proxies = JSON.parse(json.stdout) as { instanceId: string; ackedVersion: string }[];
    expect(proxies.find((p) => p.instanceId === "orders-7f9c")?.ackedVersion).toBe(dp.client.version);

    const endpoints = await weft("get", "endpoints", "orders", "--server", cp.url);
    expect(endpoints.stdout).toMatch(/shop\s+orders\s+127\.0\.0\.2\s+15008\s+-\s+orders-7f9c\s+HEALTHY/);
    const services = await weft("get", "services", "-o", "yaml", "--server", cp.url);
    expect(services.stdout).toContain("name: inventory");
  });

  it("refuses a bad file with file:line:col and the field, and changes nothing", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const admin = res.admin(cp);
    const dir = await res.tempDir();
    await writeFile(join(dir, "a-good.yaml"), service("orders"));
    await writeFile(
      join(dir, "b-bad.yaml"),
      service("inventory", "  ports:\n    - { port: 70000, protocol: GRPC }\n"),
    );
    const r = await weft("apply", "-f", dir, "--server", cp.url);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${join(dir, "b-bad.yaml")}:9:15: spec.ports[0].port: must be greater than or equal to 1 and less than or equal to 65535`,
    );
    expect(r.stderr).toContain("nothing was applied");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await admin.getConfig({})).version).toBe("0");

    const typo = join(dir, "typo.yml");
    await writeFile(typo, service("orders").replace("mode: SIDECAR", "mdoe: SIDECAR"));
    const t = await weft("apply", "-f", typo, "--server", cp.url);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain(
      `${typo}:7:3: spec.mdoe: unknown field "mdoe" in Service; did you mean "mode"?`,
    );
    const missing = await weft("apply", "-f", join(dir, "nope.yaml"), "--server", cp.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(dir, "nope.yaml")}: no such file or directory`);
    expect((await admin.getConfig({})).config?.services).toEqual([]);
  });

  it("dry run reports what would change and changes nothing", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const file = join(await res.tempDir(), "orders.yaml");
    await writeFile(file, service("orders"));
    const r = await weft("apply", "-f", file, "--dry-run", "--server", cp.url);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "dry run against configuration version 0: applying would change (nothing was changed):\n" +
        "  Service shop/orders: created\n" +
        "to apply only if version 0 is still in force, add --expected-version 0\n",
    );
    expect((await res.admin(cp).getConfig({})).version).toBe("0");
  });

  it("exits 2 with what to do when the control plane cannot be reached", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const url = cp.url;
    await cp.close();
    const r = await weft("status", "--server", url);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot reach the control plane at ${url}`);
    expect(r.stderr).toContain("--server or WEFT_SERVER");
  });

  it("exits 1 with usage for a mistake on the command line", async () => {
    const r = await weft("get", "pods");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('weft get: expected services, endpoints or proxies, got "pods"');
    const u = await weft("apply", "--file", "x");
    expect(u.code).toBe(1);
    expect(u.stderr).toContain("weft apply: Unknown option '--file'");
  });

  it("creates a bootstrap token the CA can verify later", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const r = await weft(
      "token",
      "create",
      "--sa",
      "orders",
      "--namespace",
      "shop",
      "--ttl",
      "10m",
      "--server",
      cp.url,
    );
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^weft_bt_[\w-]{43}$/);
    const subject = await verifyToken(cp.store, token);
    expect(subject).toMatchObject({ namespace: "shop", serviceAccount: "orders" });
    expect((subject?.expiresAtMs ?? 0) - Date.now()).toBeGreaterThan(590_000);
    expect(await verifyToken(cp.store, `${token.slice(0, -1)}x`)).toBeUndefined();
    expect(await verifyToken(cp.store, token, Date.now() + 601_000)).toBeUndefined();
    const bad = await weft("token", "create", "--sa", "Bad_Name", "--server", cp.url);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('service account "Bad_Name" must be lowercase');
  });

  it("`weft control-plane` serves from its data dir and stops cleanly on SIGTERM", async () => {
    const dataDir = await res.tempDir();
    const child = spawn(
      process.execPath,
      ["--conditions=@weft/source", "src/cli/main.ts", "control-plane", "--data-dir", dataDir, "--port", "0"],
      { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    res.add(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    }, child);
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(
      () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.test(out),
      "the control plane to listen",
      15_000,
    );
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? "";
    expect(out).toContain(`(data dir ${dataDir})`);
    const file = join(await res.tempDir(), "orders.yaml");
    await writeFile(file, service("orders"));
    // The admin token it made on first start, in a file only its owner can read.
    const tokenFile = join(dataDir, "admin-token");
    expect(out).toContain(`admin token in ${tokenFile}`);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const refused = await weft("apply", "-f", file, "--server", url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the admin API needs the admin token`);
    expect(refused.stderr).toContain(tokenFile);
    expect((await weft("apply", "-f", file, "--server", url, "--admin-token-file", tokenFile)).code).toBe(0);
    expect(existsSync(join(dataDir, "LOCK"))).toBe(true);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(join(dataDir, "LOCK"))).toBe(false);
    expect(existsSync(join(dataDir, "config.json"))).toBe(true);
  });
});
