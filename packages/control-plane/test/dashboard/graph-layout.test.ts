import { describe, expect, it } from "vitest";
import { layoutGraph } from "../../src/dashboard/graph-layout.ts";

describe("layoutGraph", () => {
  it("places services on a circle in name order, the same way every time", () => {
    const ids = ["shop/orders", "shop/inventory", "shop/billing", "shop/web"];
    const a = layoutGraph(ids, []);
    const b = layoutGraph([...ids].reverse(), []);
    expect(a).toEqual(b);
    expect(a.nodes.map((n) => n.id)).toEqual(["shop/billing", "shop/inventory", "shop/orders", "shop/web"]);
    const cx = a.width / 2;
    const cy = a.height / 2;
    const radii = a.nodes.map((n) => Math.hypot(n.x - cx, n.y - cy));
    for (const r of radii) expect(r).toBeCloseTo(radii[0] ?? 0, 0);
    // The first service sits at the top.
    expect(a.nodes[0]).toMatchObject({ x: cx });
    expect(a.nodes[0]?.y).toBeLessThan(cy);
  });

  it("keeps neighbours apart as the mesh grows", () => {
    const ids = Array.from({ length: 40 }, (_, i) => `ns/svc-${String(i).padStart(2, "0")}`);
    const g = layoutGraph(ids, []);
    for (let i = 0; i < g.nodes.length; i++) {
      const p = g.nodes[i];
      const q = g.nodes[(i + 1) % g.nodes.length];
      if (!p || !q) throw new Error("missing node");
      expect(Math.hypot(p.x - q.x, p.y - q.y)).toBeGreaterThan(3 * g.nodeRadius);
    }
  });

  it("bends A->B and B->A to opposite sides, draws a self-call as a loop, and skips unknown services", () => {
    const g = layoutGraph(
      ["ns/a", "ns/b"],
      [
        { from: "ns/a", to: "ns/b" },
        { from: "ns/b", to: "ns/a" },
        { from: "ns/a", to: "ns/a" },
        { from: "ns/a", to: "ns/ghost" },
      ],
    );
    expect(g.edges.map((e) => `${e.from}>${e.to}`)).toEqual(["ns/a>ns/b", "ns/b>ns/a", "ns/a>ns/a"]);
    const [ab, ba, loop] = g.edges;
    expect(ab?.path).toMatch(/^M [\d.]+ [\d.]+ Q [\d.]+ [\d.]+ [\d.]+ [\d.]+$/);
    expect(ab?.labelX).not.toBe(ba?.labelX);
    expect(loop?.path).toMatch(/ C /);
  });
});
