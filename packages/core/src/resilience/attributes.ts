/**
 * Keys of the per-call state the resilience steps leave in `call.attributes`, for telemetry
 * and for the steps around them (the timeout step names the attempts made in its error).
 */

/** Extra attempts started so far (retries or hedges); absent when there was only one. */
export const RETRY_COUNT = Symbol.for("weft.retry.count");

/** Set to the budget's description when a retry or hedge was refused by the retry budget. */
export const RETRY_BUDGET_EXHAUSTED = Symbol.for("weft.retry.budgetExhausted");

/** Attempts started for the call: 1 plus the retries recorded under RETRY_COUNT. */
export function attemptsStarted(attributes: ReadonlyMap<string | symbol, unknown>): number {
  const retries = attributes.get(RETRY_COUNT);
  return typeof retries === "number" ? retries + 1 : 1;
}
