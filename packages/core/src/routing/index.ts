export { type EffectivePolicies, effectivePolicies } from "./policies.ts";
export { type RoutableCall, type RouteDecision, RouteTable } from "./route-table.ts";
