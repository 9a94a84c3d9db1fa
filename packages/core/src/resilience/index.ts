export { attemptsStarted, RETRY_BUDGET_EXHAUSTED, RETRY_COUNT } from "./attributes.ts";
export { type BackoffOptions, backoffDelay, backoffOptionsFromProto, DEFAULT_BACKOFF } from "./backoff.ts";
export {
  type CircuitBreakerOptions,
  circuitBreakerInterceptor,
  circuitBreakerOptionsFromProto,
  circuitBreakerPlugin,
} from "./circuit-breaker.ts";
export { ConcurrencyLimit, type ConcurrencyLimitOptions } from "./concurrency-limit.ts";
export {
  CONNECT_TIMEOUT_HEADER,
  deadlineFromHeaders,
  decodeConnectTimeout,
  decodeGrpcTimeout,
  encodeConnectTimeout,
  encodeGrpcTimeout,
  GRPC_TIMEOUT_HEADER,
  writeDeadlineHeaders,
} from "./deadline-headers.ts";
export { msFromDuration } from "./duration.ts";
export {
  type FaultOptions,
  faultConfigured,
  faultInterceptor,
  faultOptionsFromProto,
  faultPlugin,
} from "./fault.ts";
export {
  type HedgingOptions,
  hedgingInterceptor,
  hedgingOptionsFromProto,
  hedgingPlugin,
} from "./hedging.ts";
export {
  type PerTryTimeoutOptions,
  perTryTimeoutInterceptor,
  perTryTimeoutPlugin,
} from "./per-try-timeout.ts";
export {
  type RateLimitOptions,
  rateLimitInterceptor,
  rateLimitOptionsFromProto,
  rateLimitPlugin,
} from "./rate-limit.ts";
export { ResilienceState, sharedResilienceState } from "./resilience-state.ts";
export { type RetryOptions, retryInterceptor, retryOptionsFromProto, retryPlugin } from "./retry.ts";
export {
  RETRY_BUDGET_BUCKETS,
  type RetryBudgetOptions,
  RetryBudgetWindow,
  retryBudgetOptionsFromProto,
} from "./retry-budget.ts";
export { DEFAULT_RETRY_ON, isReset, PER_TRY_TIMEOUT_PLUGIN, RetryConditions } from "./retry-on.ts";
export { type ResiliencePolicies, type ResilienceStepsOptions, resilienceSteps } from "./steps.ts";
export {
  type TimeoutOptions,
  timeoutInterceptor,
  timeoutOptionsFromProto,
  timeoutPlugin,
} from "./timeout.ts";
export { TokenBucket, type TokenBucketOptions } from "./token-bucket.ts";
