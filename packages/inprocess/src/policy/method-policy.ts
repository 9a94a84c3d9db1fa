import type { DescService } from "@bufbuild/protobuf";

/** protobuf's MethodOptions.IdempotencyLevel, by name. */
export type Idempotency = "IDEMPOTENCY_UNKNOWN" | "NO_SIDE_EFFECTS" | "IDEMPOTENT";

/**
 * The mesh policy of one RPC method as declared next to its signature: in the .proto
 * (`idempotency_level`, `deprecated`, Weft's own `(weft.v1.method)` options), carried by
 * generated code as a typed table, and applied by the mesh on every call of the method.
 * Configuration from the control plane (routes) overrides what a table says.
 */
export interface MethodPolicy {
  /** NO_SIDE_EFFECTS and IDEMPOTENT methods may be retried and hedged; others are not. */
  readonly idempotency: Idempotency;
  readonly deprecated?: boolean;
  /** Whole-call timeout in milliseconds. */
  readonly timeoutMs?: number;
  readonly retry?: {
    /** Total attempts, the first included. */
    readonly attempts: number;
    readonly perTryTimeoutMs?: number;
    /** RetryOn names without prefix: CONNECT_FAILURE, REFUSED_STREAM, UNAVAILABLE, RESET, 5XX, 503, RESOURCE_EXHAUSTED. */
    readonly retryOn?: readonly string[];
    readonly backoffBaseMs?: number;
    readonly backoffMaxMs?: number;
  };
  readonly hedging?: {
    readonly maxAttempts: number;
    readonly delayMs: number;
  };
}

/** Policies of a service's methods, keyed by the method's local name (as in connect-es clients). */
export type MethodPolicyTable<S extends DescService> = {
  readonly [K in keyof S["method"]]?: MethodPolicy;
};

/** Where a service's mesh logic runs; chosen per service by option, config or WEFT_MODE. */
export type ServiceMode = "inprocess" | "sidecar";

/** A client in sidecar mode talks to the local sidecar's outbound listener. */
export interface SidecarTarget {
  readonly sidecar: string;
}
