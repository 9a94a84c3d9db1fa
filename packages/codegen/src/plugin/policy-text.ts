import type { MethodPolicy } from "@weft/inprocess";

/**
 * A method policy as a TypeScript object literal, fields in a fixed order so the same
 * .proto always gives the same bytes. `indent` is the indentation of the closing brace.
 */
export function policyLiteral(policy: MethodPolicy, indent: string): string {
  const inner = `${indent}  `;
  const lines = [`idempotency: ${JSON.stringify(policy.idempotency)},`];
  if (policy.deprecated) lines.push("deprecated: true,");
  if (policy.timeoutMs !== undefined) lines.push(`timeoutMs: ${policy.timeoutMs},`);
  const retry = policy.retry;
  if (retry) {
    const fields = [`attempts: ${retry.attempts}`];
    if (retry.perTryTimeoutMs !== undefined) fields.push(`perTryTimeoutMs: ${retry.perTryTimeoutMs}`);
    if (retry.retryOn) fields.push(`retryOn: [${retry.retryOn.map((r) => JSON.stringify(r)).join(", ")}]`);
    if (retry.backoffBaseMs !== undefined) fields.push(`backoffBaseMs: ${retry.backoffBaseMs}`);
    if (retry.backoffMaxMs !== undefined) fields.push(`backoffMaxMs: ${retry.backoffMaxMs}`);
    lines.push(`retry: { ${fields.join(", ")} },`);
  }
  const hedging = policy.hedging;
  if (hedging) lines.push(`hedging: { maxAttempts: ${hedging.maxAttempts}, delayMs: ${hedging.delayMs} },`);
  return `{\n${lines.map((l) => inner + l).join("\n")}\n${indent}}`;
}

const idempotencyMeaning: Record<MethodPolicy["idempotency"], string> = {
  NO_SIDE_EFFECTS: "NO_SIDE_EFFECTS (may be retried and hedged)",
  IDEMPOTENT: "IDEMPOTENT (may be retried and hedged)",
  IDEMPOTENCY_UNKNOWN: "IDEMPOTENCY_UNKNOWN (retried only if the request never left)",
};

/** The policy in words, one line per setting, for the JSDoc next to the method. */
export function describePolicy(policy: MethodPolicy): string[] {
  const lines = [`- idempotency: ${idempotencyMeaning[policy.idempotency]}`];
  if (policy.timeoutMs !== undefined) lines.push(`- timeout: ${policy.timeoutMs} ms`);
  const retry = policy.retry;
  if (retry) {
    const parts = [`${retry.attempts} ${retry.attempts === 1 ? "attempt" : "attempts"}`];
    if (retry.perTryTimeoutMs !== undefined) parts.push(`${retry.perTryTimeoutMs} ms per try`);
    if (retry.retryOn) parts.push(`on ${retry.retryOn.join(", ")}`);
    if (retry.backoffBaseMs !== undefined || retry.backoffMaxMs !== undefined) {
      parts.push(`backoff ${retry.backoffBaseMs ?? "default"} to ${retry.backoffMaxMs ?? "default"} ms`);
    }
    lines.push(`- retry: ${parts.join(", ")}`);
  }
  const hedging = policy.hedging;
  if (hedging) lines.push(`- hedging: up to ${hedging.maxAttempts} attempts, ${hedging.delayMs} ms apart`);
  if (policy.timeoutMs === undefined && !retry && !hedging) {
    lines.push("- timeout, retry, hedging: from mesh configuration");
  }
  return lines;
}
