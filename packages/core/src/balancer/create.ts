import type { Clock } from "../clock/clock.ts";
import type { ViewPolicy } from "../endpoints/view.ts";
import { type LoadBalancer, LoadBalancer_Algorithm } from "../gen/weft/v1/policy_pb.js";
import type { Algorithm, Balancer, Random } from "./balancer.ts";
import { LeastRequestBalancer } from "./least-request.ts";
import { MaglevBalancer } from "./maglev.ts";
import { PeakEwmaBalancer } from "./p2c-peak-ewma.ts";
import { RingHashBalancer } from "./ring-hash.ts";
import { RoundRobinBalancer } from "./round-robin.ts";
import { WeightedRandomBalancer } from "./weighted-random.ts";

/** Load balancing as plain options: the algorithm and how eligible endpoints are chosen. */
export interface BalancerOptions {
  /** Default p2c_peak_ewma. */
  readonly algorithm?: Algorithm;
  /** ring_hash and maglev: the request header whose value is hashed. */
  readonly hashHeader?: string;
  /** Prefer endpoints in the caller's zone while enough of them are healthy. */
  readonly zoneAware?: boolean;
  /** Panic threshold, percent (default 50, as in Envoy; 0 turns panic mode off). */
  readonly panicThresholdPercent?: number;
  /** maglev: lookup table size, prime (default 65537). */
  readonly maglevTableSize?: number;
  /** ring_hash: points of an endpoint of mean weight (default 512). */
  readonly ringPointsPerEndpoint?: number;
}

export const algorithms: readonly Algorithm[] = [
  "round_robin",
  "weighted_random",
  "least_request",
  "p2c_peak_ewma",
  "ring_hash",
  "maglev",
];

const fromProtoAlgorithm: Record<LoadBalancer_Algorithm, Algorithm> = {
  [LoadBalancer_Algorithm.UNSPECIFIED]: "p2c_peak_ewma",
  [LoadBalancer_Algorithm.ROUND_ROBIN]: "round_robin",
  [LoadBalancer_Algorithm.WEIGHTED_RANDOM]: "weighted_random",
  [LoadBalancer_Algorithm.LEAST_REQUEST]: "least_request",
  [LoadBalancer_Algorithm.P2C_PEAK_EWMA]: "p2c_peak_ewma",
  [LoadBalancer_Algorithm.RING_HASH]: "ring_hash",
  [LoadBalancer_Algorithm.MAGLEV]: "maglev",
};

/**
 * Options from a `LoadBalancer` message. Proto3 cannot tell an unset number from 0, so a
 * panic_threshold_percent of 0 means Envoy's default of 50 (the message cannot turn panic
 * mode off; plain options can).
 */
export function balancerOptionsFromProto(lb: LoadBalancer): BalancerOptions {
  const algorithm = fromProtoAlgorithm[lb.algorithm];
  if (!algorithm) throw new Error(`LoadBalancer.algorithm: unknown value ${lb.algorithm}`);
  return {
    algorithm,
    hashHeader: lb.hashHeader,
    zoneAware: lb.zoneAware,
    panicThresholdPercent: lb.panicThresholdPercent === 0 ? 50 : lb.panicThresholdPercent,
  };
}

/** Checks plain options, naming the bad one. */
export function validateBalancerOptions(options: BalancerOptions): void {
  const algorithm = options.algorithm ?? "p2c_peak_ewma";
  if (!algorithms.includes(algorithm)) {
    throw new Error(
      `load balancer algorithm "${algorithm}" is unknown; expected one of ${algorithms.join(", ")}`,
    );
  }
  const panic = options.panicThresholdPercent;
  if (panic !== undefined && !(panic >= 0 && panic <= 100)) {
    throw new Error(`load balancer panicThresholdPercent must be within 0..100, got ${panic}`);
  }
  if ((algorithm === "ring_hash" || algorithm === "maglev") && !options.hashHeader) {
    throw new Error(`load balancer algorithm ${algorithm} needs hashHeader: the request header to hash`);
  }
}

/** The ViewPolicy of a balancer configuration for a caller in `localZone`. */
export function viewPolicyOf(options: BalancerOptions, localZone: string): ViewPolicy {
  return Object.freeze({
    panicThresholdPercent: options.panicThresholdPercent ?? 50,
    zoneAware: options.zoneAware ?? false,
    localZone,
  });
}

/** What a balancer may need besides its options: time (for EWMA) and randomness. */
export interface BalancerContext {
  readonly clock: Clock;
  /** Time constant of the latency EWMA: the endpoint set's `ewmaDecayMs`. */
  readonly ewmaDecayMs?: number;
  readonly random?: Random;
}

/** A balancer for `options`. Each endpoint set needs its own (balancers keep per-set tables). */
export function createBalancer(options: BalancerOptions, ctx: BalancerContext): Balancer {
  validateBalancerOptions(options);
  const random = ctx.random ?? Math.random;
  const hashHeader = options.hashHeader ?? "";
  switch (options.algorithm ?? "p2c_peak_ewma") {
    case "round_robin":
      // A random start, so that callers restarting together do not all begin at the same endpoint.
      return new RoundRobinBalancer(Math.floor(random() * 0x10000));
    case "weighted_random":
      return new WeightedRandomBalancer(random);
    case "least_request":
      return new LeastRequestBalancer(random);
    case "p2c_peak_ewma":
      return new PeakEwmaBalancer(ctx.clock, ctx.ewmaDecayMs ?? 10_000, random);
    case "ring_hash":
      return new RingHashBalancer({ hashHeader, random, pointsPerEndpoint: options.ringPointsPerEndpoint });
    case "maglev":
      return new MaglevBalancer({ hashHeader, random, tableSize: options.maglevTableSize });
  }
}

/** A balancer for a `LoadBalancer` message. */
export function balancerFromProto(lb: LoadBalancer, ctx: BalancerContext): Balancer {
  return createBalancer(balancerOptionsFromProto(lb), ctx);
}
