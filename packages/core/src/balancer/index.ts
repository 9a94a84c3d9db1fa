export {
  BALANCER_PLUGIN,
  type BalanceStepDeps,
  balancePlugin,
  FAILED_ENDPOINTS,
  parseBalancerOptions,
} from "./balance-step.ts";
export type { Algorithm, Balancer, Random } from "./balancer.ts";
export {
  algorithms,
  type BalancerContext,
  type BalancerOptions,
  balancerFromProto,
  balancerOptionsFromProto,
  createBalancer,
  validateBalancerOptions,
  viewPolicyOf,
} from "./create.ts";
export { hashString, xxhash32 } from "./hash.ts";
export { LeastRequestBalancer } from "./least-request.ts";
export { buildTable as buildMaglevTable, MaglevBalancer, type MaglevOptions } from "./maglev.ts";
export { PeakEwmaBalancer } from "./p2c-peak-ewma.ts";
export { RingHashBalancer, type RingHashOptions } from "./ring-hash.ts";
export { RoundRobinBalancer } from "./round-robin.ts";
export { WeightedRandomBalancer } from "./weighted-random.ts";
