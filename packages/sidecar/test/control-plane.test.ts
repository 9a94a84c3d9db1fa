import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type ControlPlane, createAdminClient, issueToken, startControlPlane } from "@weft/control-plane";
import { parseMeshConfig } from "@weft/core";
import { afterEach, describe, expect, it } from "vitest";
import { recordingApp } from "./helpers.ts";
import { type SidecarProcess, startSidecar, tempDir } from "./process-helpers.ts";

const run = promisify(execFile);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const meshYaml = `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec: { mode: SIDECAR, ports: [{ name: http, port: 8080, protocol: HTTP1 }] }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { mode: SIDECAR }
`;

async function controlPlane(dataDir: string, port = 0): Promise<ControlPlane> {
  const cp = await startControlPlane({ dataDir, port, graceMs: 2_000, warmupMs: 0, dashboardPort: false });
  cleanups.push(() => cp.close());
  return cp;
}

async function sidecar(cp: ControlPlane, token: string, service: string, appPort: number, dataDir: string) {
  const s: SidecarProcess = await startSidecar([
    "--control-plane",
    cp.url,
    "--token",
    token,
    "--service",
    service,
    "--namespace",
    "shop",
    "--app-port",
    String(appPort),
    "--data-dir",
    dataDir,
  ]);
  cleanups.push(() => s.stop());
  return s;
}

async function curlOrders(caller: SidecarProcess): Promise<string> {
  const { stdout } = await run("curl", [
    "-sS",
    "--max-time",
    "5",
    "-H",
    "Host: orders.shop",
    `http://127.0.0.1:${caller.ports.outbound}/hello`,
  ]);
  return stdout;
}

async function eventually(f: () => Promise<string>, want: string, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    last = await f().catch((e: Error) => e.message);
    if (last.includes(want)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

describe("sidecars joined through the control plane", () => {
  it("take certificates from its CA and endpoints from discovery, keep serving when it dies, and restart from the cached snapshot", async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const cp = await controlPlane(`${tmp.dir}/cp`);
    const admin = createAdminClient(cp);
    await admin.apply({ config: parseMeshConfig({ file: "mesh.yaml", text: meshYaml }) });

    const tokens = {
      orders: (await issueToken(cp.store, { namespace: "shop", serviceAccount: "orders", ttlSeconds: 3600 }))
        .token,
      web: (await issueToken(cp.store, { namespace: "shop", serviceAccount: "web", ttlSeconds: 3600 })).token,
    };
    const app = await recordingApp((_req, res) => res.end("hello from orders"));
    cleanups.push(() => app.close());
    await sidecar(cp, tokens.orders, "orders", app.port, `${tmp.dir}/orders`);
    let caller = await sidecar(cp, tokens.web, "web", 9, `${tmp.dir}/web`);

    // The callee registered its inbound port; the caller learns it and calls over mTLS.
    expect(await eventually(() => curlOrders(caller), "hello from orders")).toContain("hello from orders");
    expect(app.seen.at(-1)?.headers["x-weft-peer-identity"]).toBe("spiffe://weft.local/ns/shop/sa/web");
    const status = await admin.listProxies({});
    expect(status.proxies.map((p) => p.service).sort()).toEqual(["orders", "web"]);
    expect(status.proxies.every((p) => p.ackedVersion !== "" && p.nackedVersion === "")).toBe(true);

    // The control plane goes away: traffic keeps flowing with the last version.
    await cp.close();
    for (let i = 0; i < 5; i++) expect(await curlOrders(caller)).toContain("hello from orders");

    // The caller restarts while the control plane is still down: it serves from its cached
    // snapshot, with its cached certificate.
    await caller.stop();
    caller = await sidecar(cp, tokens.web, "web", 9, `${tmp.dir}/web`);
    expect(caller.stderr()).toContain('"source":"cache"');
    expect(await curlOrders(caller)).toContain("hello from orders");
  }, 90_000);
});
