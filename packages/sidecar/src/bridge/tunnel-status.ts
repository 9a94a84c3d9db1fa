import { MeshError } from "@weft/core";

/**
 * The HTTP status for a tunnel that could not be opened: a refusal the caller can act on
 * (403 denied by policy, 429 rate limited) or the gateway status the mesh gave (503, 504);
 * anything else is 502.
 */
export function tunnelFailureStatus(e: unknown): number {
  if (!(e instanceof MeshError)) return 502;
  const s = e.httpStatus;
  return s === 403 || s === 429 || s >= 502 ? s : 502;
}

/** The reason of a failure, on one line (it goes in a header). */
export function failureReason(e: unknown): string {
  return (e instanceof MeshError ? e.reason : String((e as Error)?.message ?? e)).replace(/[\r\n]+/g, " ");
}
