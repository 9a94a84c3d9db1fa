import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Clock, FakeClock, parseMeshConfig, systemClock } from "@weft/core";
import { Mode, type TrafficStatSchema } from "@weft/core/model";
import { connectDataPlane } from "@weft/core/transport";
import { chromium, type Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import type { Overview } from "../../src/dashboard/overview.ts";
import { Resources, waitFor } from "../helpers.ts";

const res = new Resources();
afterEach(() => res.closeAll());

type Stat = MessageInitShape<typeof TrafficStatSchema>;

/** The part of the DOM the page functions below use (this package compiles without lib "dom"). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/** The part of the page's cytoscape instance (`window.weftGraph`) the assertions read. */
interface GraphElement {
  empty(): boolean;
  data(key: string): unknown;
  style(key: string): string;
  renderedBoundingBox(): { x1: number; y1: number; x2: number; y2: number };
}
interface Graph {
  getElementById(id: string): GraphElement;
  nodes(): GraphElement[] & { length: number };
  edges(): GraphElement[] & { length: number };
  width(): number;
  height(): number;
}

/**
 * The control plane's clock reads a time the test sets (so traffic rates are exact) while
 * its timers are real (so pushes and the page's refresh happen on their own).
 */
function steppedClock(start: number): Clock & { step(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: systemClock.setTimeout,
    clearTimeout: systemClock.clearTimeout,
    step(ms: number) {
      now += ms;
    },
  };
}

/** A data plane whose traffic report is whatever the test queued since the last one. */
function dataPlane(
  url: string,
  clock: FakeClock,
  registration: { service: string; instance: string; address: string; mode: Mode },
  refuse?: (services: string[]) => string | undefined,
) {
  let pending: Stat[] = [];
  const client = connectDataPlane({
    url,
    clock,
    trafficIntervalMs: 5000,
    registration: {
      service: registration.service,
      namespace: "shop",
      instanceId: registration.instance,
      addresses: [registration.address],
      port: 15008,
      mode: registration.mode,
      certificateExpiry: timestampFromMs(Date.now() + 24 * 3600_000 + 30_000),
    },
    onSnapshot(snapshot) {
      const reason = refuse?.((snapshot.config?.services ?? []).map((s) => s.name));
      if (reason) throw new Error(reason);
    },
    traffic: () => {
      const out = pending;
      pending = [];
      return out;
    },
  });
  res.add(() => client.close(), undefined);
  return {
    client,
    queue(...stats: Stat[]) {
      pending.push(...stats);
    },
  };
}

const services = (...names: string[]) =>
  parseMeshConfig({
    file: "dashboard.yaml",
    text: names
      .map(
        (n) =>
          `apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: ${n}, namespace: shop }\nspec: {}\n`,
      )
      .join("---\n"),
  });

async function overview(url: string): Promise<Overview> {
  const r = await fetch(new URL("/api/overview", url));
  return (await r.json()) as Overview;
}

/** The graph's element `id` (an edge is `from -> to`): `key` of its data. Runs in the page. */
function graphData([id, key]: string[]): string {
  const e = (globalThis as unknown as { weftGraph?: Graph }).weftGraph?.getElementById(id as string);
  return e && !e.empty() ? String(e.data(key as string)) : "(no such element)";
}

/** Waits until the live graph's element `id` has `value` as `key` in its data. */
async function graphShows(page: Page, id: string, key: string, value: string): Promise<void> {
  try {
    await page.waitForFunction(
      ([i, k, v]) => {
        const e = (globalThis as unknown as { weftGraph?: Graph }).weftGraph?.getElementById(i as string);
        return e !== undefined && !e.empty() && String(e.data(k as string)) === v;
      },
      [id, key, value],
      { timeout: 8000 },
    );
  } catch {
    const actual = await page.evaluate(graphData, [id, key]);
    throw new Error(`the graph never showed ${key} "${value}" on ${id}; it shows "${actual}"`);
  }
}

/** Waits until the text of `selector` (in the live page, no reload) contains `text`. */
async function pageShows(page: Page, selector: string, text: string): Promise<void> {
  try {
    await page.waitForFunction(
      ([s, t]) => (document.querySelector(s as string)?.textContent ?? "").includes(t as string),
      [selector, text],
      { timeout: 8000 },
    );
  } catch {
    const actual = await page.evaluate((s) => document.querySelector(s)?.textContent ?? "(none)", selector);
    throw new Error(`the page never showed "${text}" in ${selector}; it shows "${actual}"`);
  }
}

describe("dashboard in Chromium", () => {
  it("shows the service graph, the services and the data planes, and follows changes live", async () => {
    const serverClock = steppedClock(1_000_000);
    const cp = await res.controlPlane({ dataDir: await res.tempDir(), clock: serverClock, dashboardPort: 0 });
    const dashboard = cp.dashboardUrl;
    if (!dashboard) throw new Error("the control plane started no dashboard");
    await res.admin(cp).apply({ config: services("orders", "inventory") });

    const clientClock = new FakeClock(0);
    const orders = dataPlane(cp.url, clientClock, {
      service: "orders",
      instance: "orders-1",
      address: "10.0.0.1",
      mode: Mode.INPROCESS,
    });
    const inventory = dataPlane(
      cp.url,
      clientClock,
      { service: "inventory", instance: "inventory-1", address: "10.0.0.2", mode: Mode.SIDECAR },
      (names) => (names.includes("audit") ? 'unknown plugin "audit-log" in service shop/audit' : undefined),
    );
    await waitFor(
      () => cp.hub.proxies().every((p) => p.ackedVersion !== "") && cp.hub.sessionCount === 2,
      "both data planes to ACK",
    );

    // One report interval: orders called inventory 50 times in 5 s, one failed.
    orders.queue({ destination: "inventory", requests: 50n, failures: 1n, p50Ms: 3, p99Ms: 12.5 });
    serverClock.step(5000);
    await clientClock.advance(5000);
    let o = await overview(dashboard);
    for (let i = 0; i < 200 && o.edges.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      o = await overview(dashboard);
    }
    expect(o.edges).toMatchObject([
      { from: "shop/orders", to: "shop/inventory", requests: 50, requestsPerSecond: 10, p99Ms: 12.5 },
    ]);

    const userDataDir = await mkdtemp(join(tmpdir(), "weft-chromium-"));
    res.add(() => rm(userDataDir, { recursive: true, force: true }), undefined);
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      viewport: { width: 1400, height: 820 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    res.add(() => context.close(), undefined);
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    await page.goto(dashboard);

    const edge = "shop/orders -> shop/inventory";
    await graphShows(page, edge, "label", "10.0/s · 98.00%");
    await graphShows(page, edge, "health", "warn");
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { weftGraph?: Graph }).weftGraph
          ?.getElementById("shop/orders -> shop/inventory")
          .style("line-color"),
      ),
    ).toBe("rgb(181,129,0)");
    expect(
      await page.evaluate(() => (globalThis as unknown as { weftGraph?: Graph }).weftGraph?.nodes().length),
    ).toBe(2);
    await graphShows(page, "shop/inventory", "label", "inventory\nsidecar");
    await graphShows(page, "shop/orders", "label", "orders\nin-process");
    const inv = 'tr[data-service="shop/inventory"]';
    await pageShows(page, `${inv} td.rps`, "10.0/s");
    await pageShows(page, `${inv} td.success`, "98.00%");
    await pageShows(page, `${inv} td.p99`, "12.5 ms");
    await pageShows(page, `${inv} td.endpoints`, "1");
    await pageShows(page, inv, "sidecar");
    await pageShows(page, 'tr[data-service="shop/orders"]', "in-process");
    const ordersRow = 'tr[data-instance="shop/orders#orders-1"]';
    const firstVersion = cp.hub.proxies().find((p) => p.instanceId === "orders-1")?.ackedVersion ?? "?";
    await pageShows(page, `${ordersRow} td.version`, firstVersion);
    await pageShows(page, `${ordersRow} td.state`, "ACK");
    await pageShows(page, `${ordersRow} td.expiry`, "in 24h 0m");
    await pageShows(page, "#live", "live");

    // Mark the document and keep the graph: if anything below reloads the page, the mark is
    // gone; if it re-creates the graph, window.weftGraph is another object.
    await page.evaluate(() => {
      const w = globalThis as unknown as { weftMark: number; weftFirstGraph?: Graph };
      w.weftMark = 42;
      w.weftFirstGraph = (globalThis as unknown as { weftGraph?: Graph }).weftGraph;
    });

    // Next interval: more and slower calls to inventory, and inventory's failing calls to
    // payments in another namespace; then a config change inventory refuses.
    orders.queue({ destination: "inventory", requests: 150n, failures: 0n, p50Ms: 5, p99Ms: 40 });
    inventory.queue({ destination: "billing/payments", requests: 20n, failures: 5n, p50Ms: 8, p99Ms: 90 });
    serverClock.step(5000);
    await clientClock.advance(5000);
    await res.admin(cp).apply({ config: services("orders", "inventory", "audit") });

    await graphShows(page, edge, "label", "20.0/s · 99.50%");
    await pageShows(page, `${inv} td.p99`, "40.0 ms");
    const payments = "shop/inventory -> billing/payments";
    await graphShows(page, payments, "label", "2.00/s · 75.00%");
    await graphShows(page, payments, "health", "bad");
    await pageShows(page, 'tr[data-service="billing/payments"] td.success', "75.00%");
    await pageShows(page, 'tr[data-instance="shop/inventory#inventory-1"] td.state', "NACK");
    await pageShows(
      page,
      'tr[data-instance="shop/inventory#inventory-1"] td.state',
      'unknown plugin "audit-log" in service shop/audit',
    );
    await waitFor(
      () =>
        cp.hub
          .proxies()
          .find((p) => p.instanceId === "orders-1")
          ?.ackedVersion.startsWith("2-") === true,
      "orders to ACK revision 2",
    );
    const secondVersion = cp.hub.proxies().find((p) => p.instanceId === "orders-1")?.ackedVersion ?? "?";
    expect(secondVersion).not.toBe(firstVersion);
    await pageShows(page, `${ordersRow} td.version`, secondVersion);
    await pageShows(page, "#summary", "config revision 2");
    // Namespaces differ now, so nodes carry theirs.
    await graphShows(page, "billing/payments", "label", "payments\nbilling");
    await graphShows(page, "shop/inventory", "label", "inventory\nshop · sidecar");
    const drawn = await page.evaluate(() => {
      const w = globalThis as unknown as { weftMark?: number; weftFirstGraph?: Graph; weftGraph?: Graph };
      const g = w.weftGraph;
      if (!g) return undefined;
      // Every node and its label inside the visible canvas.
      const inside = g
        .nodes()
        .map((n) => n.renderedBoundingBox())
        .every((b) => b.x1 >= 0 && b.y1 >= 0 && b.x2 <= g.width() && b.y2 <= g.height());
      return {
        mark: w.weftMark,
        same: w.weftFirstGraph === g,
        nodes: g.nodes().length,
        edges: g.edges().length,
        inside,
      };
    });
    expect(drawn).toEqual({ mark: 42, same: true, nodes: 4, edges: 2, inside: true });
    expect(problems).toEqual([]);

    const shot = join(tmpdir(), "weft-dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${shot}\n`);
  }, 60_000);

  it("serves JSON, refuses writes, names what is missing, and sends a strict CSP", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir(), dashboardPort: 0 });
    const base = cp.dashboardUrl ?? "";
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/assets/cytoscape.min.js" defer></script>');
    expect(html).toContain('<script src="/dashboard.js" defer></script>');
    const lib = await fetch(new URL("/assets/cytoscape.min.js", base));
    expect(lib.status).toBe(200);
    expect(lib.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await lib.text()).toContain("cytoscape");
    const o = await overview(base);
    expect(o).toMatchObject({ services: [], edges: [], dataPlanes: [], configRevision: 0 });
    const post = await fetch(new URL("/api/overview", base), { method: "POST" });
    expect(post.status).toBe(405);
    const missing = await fetch(new URL("/nope", base));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("no dashboard page at /nope");
  });

  it("starts no dashboard when told not to, and names a busy port", async () => {
    const off = await res.controlPlane({ dataDir: await res.tempDir(), dashboardPort: false });
    expect(off.dashboardUrl).toBeUndefined();
    const first = await res.controlPlane({ dataDir: await res.tempDir(), dashboardPort: 0 });
    const busy = Number(new URL(first.dashboardUrl ?? "").port);
    await expect(res.controlPlane({ dataDir: await res.tempDir(), dashboardPort: busy })).rejects.toThrow(
      `dashboard port ${busy} on 127.0.0.1 is in use; pick another --dashboard-port`,
    );
  });
});
