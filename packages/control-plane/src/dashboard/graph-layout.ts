/**
 * Where the service graph's nodes and edges go: services on a circle in name order, so the
 * same mesh always draws the same picture, and edges as curves bent to their left so that
 * A -> B and B -> A never lie on top of each other.
 */

export interface LayoutNode {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  /**
   * Where its name goes: outside the circle, away from the centre, where no edge runs
   * (edges stay inside the circle of services). `anchor` is SVG's text-anchor.
   */
  readonly labelX: number;
  readonly labelY: number;
  readonly anchor: "start" | "middle" | "end";
}

export interface LayoutEdge {
  readonly from: string;
  readonly to: string;
  /** SVG path data, from the caller's rim to just short of the callee's rim (room for the arrow). */
  readonly path: string;
  /** Where the edge's label sits. */
  readonly labelX: number;
  readonly labelY: number;
}

export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodeRadius: number;
  readonly nodes: LayoutNode[];
  readonly edges: LayoutEdge[];
}

const NODE_RADIUS = 28;
/** Room around the circle for labels under the nodes. */
const MARGIN = 90;
const ARROW_GAP = 6;

export function layoutGraph(
  ids: readonly string[],
  edges: readonly { from: string; to: string }[],
): GraphLayout {
  const sorted = [...new Set(ids)].sort();
  const n = sorted.length;
  // Neighbours on the circle stay about 3.5 node diameters apart however many there are.
  const radius = n <= 1 ? 0 : Math.max(110, (n * NODE_RADIUS * 7) / (2 * Math.PI));
  const size = Math.round(2 * (radius + MARGIN));
  const c = size / 2;
  const at = new Map<string, LayoutNode>();
  const nodes = sorted.map((id, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const x = c + radius * cos;
    const y = c + radius * sin;
    // A lone service has no "outside": its name goes underneath.
    const out = n <= 1 ? { cos: 0, sin: 1 } : { cos, sin };
    const node: LayoutNode = {
      id,
      x: round(x),
      y: round(y),
      labelX: round(x + out.cos * (NODE_RADIUS + 8)),
      // Text hangs from its baseline: below the node it needs a line's height more.
      labelY: round(y + out.sin * (NODE_RADIUS + 8) + (out.sin > 0.3 ? 12 : out.sin < -0.3 ? 0 : 4)),
      anchor: out.cos > 0.3 ? "start" : out.cos < -0.3 ? "end" : "middle",
    };
    at.set(id, node);
    return node;
  });
  const laid: LayoutEdge[] = [];
  for (const e of edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    laid.push(a === b ? selfLoop(e, a) : curve(e, a, b));
  }
  return { width: size, height: size, nodeRadius: NODE_RADIUS, nodes, edges: laid };
}

function curve(e: { from: string; to: string }, a: LayoutNode, b: LayoutNode): LayoutEdge {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  // The left-hand normal of the direction of travel: the reverse edge bends the other way.
  const nx = uy;
  const ny = -ux;
  const bend = Math.min(40, len * 0.15);
  const cx = (a.x + b.x) / 2 + nx * bend;
  const cy = (a.y + b.y) / 2 + ny * bend;
  const start = towards(a, cx, cy, NODE_RADIUS);
  const end = towards(b, cx, cy, NODE_RADIUS + ARROW_GAP);
  return {
    from: e.from,
    to: e.to,
    path: `M ${round(start.x)} ${round(start.y)} Q ${round(cx)} ${round(cy)} ${round(end.x)} ${round(end.y)}`,
    // A quadratic curve passes halfway to its control point at t = 0.5.
    labelX: round((a.x + b.x) / 2 + nx * (bend / 2 + 12)),
    labelY: round((a.y + b.y) / 2 + ny * (bend / 2 + 12)),
  };
}

function selfLoop(e: { from: string; to: string }, a: LayoutNode): LayoutEdge {
  const r = NODE_RADIUS;
  const x1 = a.x - r * 0.6;
  const x2 = a.x + r * 0.6;
  const y = a.y - r * 0.8;
  return {
    from: e.from,
    to: e.to,
    path: `M ${round(x1)} ${round(y)} C ${round(x1 - r)} ${round(y - 2 * r)} ${round(x2 + r)} ${round(y - 2 * r)} ${round(x2)} ${round(y - ARROW_GAP)}`,
    labelX: round(a.x),
    labelY: round(y - 2 * r),
  };
}

/** The point on a node's rim (or `distance` from its centre) in the direction of (x, y). */
function towards(node: LayoutNode, x: number, y: number, distance: number): { x: number; y: number } {
  const dx = x - node.x;
  const dy = y - node.y;
  const len = Math.hypot(dx, dy) || 1;
  return { x: node.x + (dx / len) * distance, y: node.y + (dy / len) * distance };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
