import { Code } from "@connectrpc/connect";
import type { CallOutcome } from "../call/call.ts";
import { codeName, httpStatusFromCode } from "../errors/codes.ts";
import { MeshError } from "../errors/mesh-error.ts";

/**
 * How telemetry classifies the end of a call. Shared by metrics, tracing and the access
 * log so that the three never disagree on what a failure is.
 */

/** gRPC's OK: Connect's Code enum has no member for it, the mesh uses 0 (see CallOutcome). */
export const CODE_OK = 0 as Code;

/** Index used for "no gRPC code" (plain HTTP, L4) in per-code tables; Code values are 0..16. */
export const NO_CODE = 17;

const CODE_LABELS: readonly string[] = Array.from({ length: NO_CODE + 1 }, (_, i) =>
  i === NO_CODE ? "" : i === 0 ? "ok" : codeName(i as Code),
);

const STATUS_CLASSES = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** The `code` label: the Connect name of the code, empty when the call carried none. */
export function codeLabel(code: Code | undefined): string {
  return CODE_LABELS[code ?? NO_CODE] ?? "";
}

export function codeIndex(code: Code | undefined): number {
  return code === undefined || code < 0 || code >= NO_CODE ? NO_CODE : code;
}

/** 0 for a status outside 100..599, else the hundreds digit. */
export function statusClassIndex(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
}

export function statusClassLabel(index: number): string {
  return STATUS_CLASSES[index] ?? "other";
}

/**
 * A failure is a call with a gRPC code other than OK, or, for calls without a code
 * (plain HTTP), a 5xx: a 404 from a REST service is an answer, not a broken mesh.
 */
export function isFailure(code: Code | undefined, status: number): boolean {
  return code !== undefined ? code !== CODE_OK : status >= 500;
}

/** The code of a call that threw: a MeshError's, Canceled for aborts, Internal otherwise. */
export function codeOfError(err: unknown): Code {
  if (err instanceof MeshError) return err.code;
  const name = (err as { name?: unknown } | undefined)?.name;
  return name === "AbortError" || name === "TimeoutError" ? Code.Canceled : Code.Internal;
}

/** Code and status of a settled response, taking a MeshError carried by the outcome into account. */
export function codeOfOutcome(outcome: CallOutcome): Code | undefined {
  if (outcome.code !== undefined) return outcome.code;
  return outcome.error ? codeOfError(outcome.error) : undefined;
}

export function statusOfError(err: unknown): number {
  return httpStatusFromCode(codeOfError(err));
}
