import type { MeshCall } from "../call/call.ts";
import type { EndpointState } from "../endpoints/endpoint-state.ts";
import type { EndpointView } from "../endpoints/view.ts";

/** The balancing algorithms, by the names options and logs use. */
export type Algorithm =
  | "round_robin"
  | "weighted_random"
  | "least_request"
  | "p2c_peak_ewma"
  | "ring_hash"
  | "maglev";

/**
 * Picks the endpoint for one attempt of a call from a view of the eligible endpoints.
 * Returns undefined only when the view is empty. A balancer keeps its own per-view tables
 * (rings, schedules), rebuilt when the view object changes, so a pick costs O(1) or
 * O(log n) and never sorts. The pick is an EndpointState, which is an EndpointRef.
 */
export interface Balancer {
  readonly algorithm: Algorithm;
  /** `now`: the view's clock, when the caller has just read it (saves a read per pick). */
  pick(call: MeshCall, view: EndpointView, now?: number): EndpointState | undefined;
}

/** A source of uniform numbers in [0, 1); injected so tests are deterministic. */
export type Random = () => number;
