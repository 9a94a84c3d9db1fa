import { create } from "@bufbuild/protobuf";
import { type Duration, DurationSchema } from "@bufbuild/protobuf/wkt";
import type { MethodDefaults } from "@weft/core";
import { HedgingPolicySchema, RetryOn, RetryPolicySchema, TimeoutPolicySchema } from "@weft/core/model";
import type { MethodPolicy } from "./method-policy.ts";

function duration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

const retryOnNames = new Map<string, RetryOn>(
  Object.entries(RetryOn)
    .filter(([, v]) => typeof v === "number" && v !== 0)
    .map(([k, v]) => [k, v as RetryOn]),
);

/**
 * Turns a generated method policy into the policy messages the chain runs on. Done once per
 * method and table, never per call. Unknown retry-on names are an error naming the method.
 */
export function methodDefaults(method: string, policy: MethodPolicy): MethodDefaults {
  const out: {
    timeout?: MethodDefaults["timeout"];
    retry?: MethodDefaults["retry"];
    hedging?: MethodDefaults["hedging"];
  } = {};
  if (policy.timeoutMs !== undefined)
    out.timeout = create(TimeoutPolicySchema, { request: duration(policy.timeoutMs) });
  if (policy.retry) {
    const r = policy.retry;
    const retryOn = (r.retryOn ?? []).map((name) => {
      const v = retryOnNames.get(name) ?? retryOnNames.get(`RETRY_ON_${name}`);
      if (v === undefined) throw new Error(`${method}: unknown retry-on condition "${name}"`);
      return v;
    });
    out.retry = create(RetryPolicySchema, {
      attempts: r.attempts,
      perTryTimeout: r.perTryTimeoutMs !== undefined ? duration(r.perTryTimeoutMs) : undefined,
      retryOn,
      backoff:
        r.backoffBaseMs !== undefined || r.backoffMaxMs !== undefined
          ? { base: duration(r.backoffBaseMs ?? 25), max: duration(r.backoffMaxMs ?? 250) }
          : undefined,
    });
  }
  if (policy.hedging) {
    out.hedging = create(HedgingPolicySchema, {
      maxAttempts: policy.hedging.maxAttempts,
      delay: duration(policy.hedging.delayMs),
    });
  }
  return out;
}

/** NO_SIDE_EFFECTS and IDEMPOTENT methods may be sent twice; others only when never sent. */
export function isIdempotent(policy: MethodPolicy | undefined, level: number | undefined): boolean {
  if (policy) return policy.idempotency === "NO_SIDE_EFFECTS" || policy.idempotency === "IDEMPOTENT";
  // google.protobuf.MethodOptions.IdempotencyLevel: 1 NO_SIDE_EFFECTS, 2 IDEMPOTENT.
  return level === 1 || level === 2;
}
