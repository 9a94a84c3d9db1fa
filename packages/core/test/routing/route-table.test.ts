import { describe, expect, it } from "vitest";
import { parseMeshConfig } from "../../src/config/index.ts";
import { RouteTable } from "../../src/routing/index.ts";

const config = parseMeshConfig({
  file: "routes.yaml",
  text: `
apiVersion: weft.dev/v1
kind: Mesh
spec:
  defaults:
    timeout: { request: 5s }
    retry: { attempts: 2 }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: inventory, namespace: shop }
spec:
  policies:
    timeout: { request: 3s }
    loadBalancer: { algorithm: LEAST_REQUEST }
---
apiVersion: weft.dev/v1
kind: Route
metadata: { name: reads, namespace: shop }
spec:
  service: inventory
  matches:
    - method: shop.v1.Inventory/Get
    - method: shop.v1.Inventory/List
  timeout: { request: 800ms }
---
apiVersion: weft.dev/v1
kind: Route
metadata: { name: canary, namespace: shop }
spec:
  service: inventory
  priority: 10
  matches:
    - headers: [{ name: X-Canary, exact: "yes" }]
  destinations:
    - { service: inventory, subset: { version: v2 }, weight: 90 }
    - { service: inventory, subset: { version: v1 }, weight: 10 }
---
apiVersion: weft.dev/v1
kind: Route
metadata: { name: admin, namespace: shop }
spec:
  service: inventory
  matches:
    - path: { prefix: /admin/ }
      headers: [{ name: x-debug, present: true, invert: true }]
`,
});

const table = new RouteTable(config);
const call = (method: string, headers: Record<string, string> = {}, path = `/${method}`) => ({
  service: "inventory",
  namespace: "shop",
  method,
  path,
  headers: new Headers(headers),
});

describe("RouteTable", () => {
  it("matches by method and takes the route's timeout over the service's and the mesh's", () => {
    const d = table.match(call("shop.v1.Inventory/List"));
    expect(d.routeName).toBe("shop/reads");
    expect(Number(d.policies.timeout?.request?.nanos)).toBe(800_000_000);
    // The route sets no retry, so the mesh default applies; the balancer is the service's.
    expect(d.policies.retry?.attempts).toBe(2);
    expect(d.policies.loadBalancer?.algorithm).toBe(3);
  });

  it("falls back to the service default route", () => {
    const d = table.match(call("shop.v1.Inventory/Update"));
    expect(d.routeName).toBe("default");
    expect(Number(d.policies.timeout?.request?.seconds)).toBe(3);
  });

  it("tries routes by priority, and splits traffic by weight", () => {
    let i = 0;
    const sequence = [0.05, 0.5, 0.95];
    const subsets = sequence.map(() =>
      table.match(call("shop.v1.Inventory/Get", { "x-canary": "yes" }), () => sequence[i++] ?? 0),
    );
    expect(subsets.map((d) => d.routeName)).toEqual(["shop/canary", "shop/canary", "shop/canary"]);
    expect(subsets.map((d) => d.destination.subset.version)).toEqual(["v2", "v2", "v1"]);
  });

  it("matches path prefixes and inverted header conditions", () => {
    expect(table.match(call("", {}, "/admin/flush")).routeName).toBe("shop/admin");
    expect(table.match(call("", { "x-debug": "1" }, "/admin/flush")).routeName).toBe("default");
  });

  it("returns the same decision object for the same default route (no per-call allocation)", () => {
    expect(table.match(call("shop.v1.Inventory/Update"))).toBe(table.match(call("shop.v1.Inventory/Delete")));
  });
});
