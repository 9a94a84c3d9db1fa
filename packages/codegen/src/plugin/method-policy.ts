import { type DescMethod, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { Idempotency, MethodPolicy, ServiceMode } from "@weft/inprocess";
import {
  type MethodOptions_Retry_RetryOn,
  MethodOptions_Retry_RetryOnSchema,
  method as methodOption,
  ServiceOptions_ModeSchema,
  service as serviceOption,
} from "../gen/weft/v1/options_pb.js";
import { sourceLocation } from "./source-location.ts";

/** A .proto declares a policy the mesh cannot apply; names the method and the option. */
export class PolicyOptionError extends Error {
  override name = "PolicyOptionError";
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const idempotencyNames: Record<MethodOptions_IdempotencyLevel, Idempotency> = {
  [MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN]: "IDEMPOTENCY_UNKNOWN",
  [MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS]: "NO_SIDE_EFFECTS",
  [MethodOptions_IdempotencyLevel.IDEMPOTENT]: "IDEMPOTENT",
};

/**
 * The policy a method declares in its .proto: `idempotency_level`, `deprecated` and the
 * `(weft.v1.method)` option. Only what the .proto sets is present, so the mesh's own
 * defaults and configuration apply to the rest.
 */
export function methodPolicyOf(rpc: DescMethod): MethodPolicy {
  const where = `${sourceLocation(rpc)}: (weft.v1.method) of rpc ${rpc.parent.typeName}.${rpc.name}`;
  const idempotency = idempotencyNames[rpc.idempotency];
  const policy: Mutable<MethodPolicy> = { idempotency };
  if (rpc.deprecated) policy.deprecated = true;
  if (!hasOption(rpc, methodOption)) return policy;
  const options = getOption(rpc, methodOption);
  if (options.timeout) policy.timeoutMs = durationMs(options.timeout, `${where}: timeout`);
  if (options.retry) {
    const r = options.retry;
    if (r.attempts < 1) {
      throw new PolicyOptionError(`${where}: retry.attempts must be at least 1 (the first attempt counts)`);
    }
    const retry: Mutable<NonNullable<MethodPolicy["retry"]>> = { attempts: r.attempts };
    if (r.perTryTimeout)
      retry.perTryTimeoutMs = durationMs(r.perTryTimeout, `${where}: retry.per_try_timeout`);
    if (r.retryOn.length > 0) retry.retryOn = r.retryOn.map((n) => retryOnName(n, where));
    if (r.backoffBase) retry.backoffBaseMs = durationMs(r.backoffBase, `${where}: retry.backoff_base`);
    if (r.backoffMax) retry.backoffMaxMs = durationMs(r.backoffMax, `${where}: retry.backoff_max`);
    if ((retry.backoffMaxMs ?? Number.POSITIVE_INFINITY) < (retry.backoffBaseMs ?? 0)) {
      throw new PolicyOptionError(`${where}: retry.backoff_max is shorter than retry.backoff_base`);
    }
    policy.retry = retry;
  }
  if (options.hedging) {
    const h = options.hedging;
    if (idempotency === "IDEMPOTENCY_UNKNOWN") {
      throw new PolicyOptionError(
        `${where}: hedging sends the request more than once, so the method needs ` +
          "option idempotency_level = NO_SIDE_EFFECTS or IDEMPOTENT",
      );
    }
    if (h.maxAttempts < 1) {
      throw new PolicyOptionError(
        `${where}: hedging.max_attempts must be at least 1 (the first attempt counts)`,
      );
    }
    policy.hedging = {
      maxAttempts: h.maxAttempts,
      delayMs: h.delay ? durationMs(h.delay, `${where}: hedging.delay`) : 0,
    };
  }
  return policy;
}

/** The `(weft.v1.service)` mode of a service, when its .proto sets one. */
export function serviceModeOf(service: DescService): ServiceMode | undefined {
  if (!hasOption(service, serviceOption)) return undefined;
  const mode = getOption(service, serviceOption).mode;
  const name = ServiceOptions_ModeSchema.value[mode]?.name;
  switch (name) {
    case "MODE_INPROCESS":
      return "inprocess";
    case "MODE_SIDECAR":
      return "sidecar";
    case "MODE_UNSPECIFIED":
      return undefined;
    default:
      throw new PolicyOptionError(
        `${sourceLocation(service)}: (weft.v1.service) of service ${service.typeName}: unknown mode ${mode}`,
      );
  }
}

function durationMs(d: Duration, where: string): number {
  const ms = Number(d.seconds) * 1000 + d.nanos / 1e6;
  if (ms < 0 || !Number.isFinite(ms)) throw new PolicyOptionError(`${where} must not be negative`);
  return ms;
}

const retryOnPrefix = "RETRY_ON_";

function retryOnName(n: MethodOptions_Retry_RetryOn, where: string): string {
  const name = MethodOptions_Retry_RetryOnSchema.value[n]?.name;
  if (name === undefined || name === "RETRY_ON_UNSPECIFIED") {
    throw new PolicyOptionError(`${where}: retry.retry_on holds ${name ?? n}, which names no failure`);
  }
  return name.slice(retryOnPrefix.length);
}
