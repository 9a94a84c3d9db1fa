import { Code } from "@connectrpc/connect";
import type { CallOutcome, MeshResponse } from "../call/call.ts";
import { MeshError } from "../errors/mesh-error.ts";

/**
 * Whether a call's outcome is the endpoint's fault: UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS,
 * or an HTTP 5xx without a gRPC code. Application answers (NOT_FOUND, INVALID_ARGUMENT, ...)
 * are not; neither are DEADLINE_EXCEEDED and CANCELED, which the caller's deadline and the
 * caller going away cause as often as a slow endpoint does.
 */
export function endpointFailed(outcome: CallOutcome | MeshResponse): boolean {
  const code = outcome.code;
  if (code !== undefined) return isServerCode(code);
  return outcome.status >= 500 && outcome.status <= 599;
}

/** Whether an error thrown by the rest of the chain (transport included) is the endpoint's fault. */
export function endpointFailedError(err: unknown): boolean {
  if (err instanceof MeshError) return err.neverSent || isServerCode(err.code);
  // Anything else thrown below the balancer is a transport failure talking to the endpoint.
  return !(err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"));
}

function isServerCode(code: Code): boolean {
  return (
    code === Code.Unavailable || code === Code.Internal || code === Code.Unknown || code === Code.DataLoss
  );
}
