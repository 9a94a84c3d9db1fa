import { Code } from "@connectrpc/connect";
import type { MeshResponse } from "../call/call.ts";
import { httpStatusFromCode } from "../errors/codes.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { RetryOn } from "../gen/weft/v1/policy_pb.js";

/** The plugin name of the per-try timeout step, whose failures are always worth another try. */
export const PER_TRY_TIMEOUT_PLUGIN = "per-try-timeout";

/** Istio's defaults, used when a policy names no condition. */
export const DEFAULT_RETRY_ON: readonly RetryOn[] = [
  RetryOn.RETRY_ON_CONNECT_FAILURE,
  RetryOn.RETRY_ON_REFUSED_STREAM,
  RetryOn.RETRY_ON_UNAVAILABLE,
  RetryOn.RETRY_ON_RESET,
];

/** Node and HTTP/2 error codes that mean the connection or stream was reset under the call. */
const RESET_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_GOAWAY_SESSION",
]);

/**
 * Which failures may be tried again, compiled once from RetryOn conditions into a bit set so
 * judging a failure is a few comparisons.
 */
export class RetryConditions {
  readonly #mask: number;

  constructor(conditions: readonly RetryOn[]) {
    let mask = 0;
    for (const c of conditions.length > 0 ? conditions : DEFAULT_RETRY_ON) mask |= 1 << c;
    this.#mask = mask;
  }

  has(condition: RetryOn): boolean {
    return (this.#mask & (1 << condition)) !== 0;
  }

  /** May the call be tried again after this error? */
  error(err: unknown): boolean {
    if (!(err instanceof MeshError)) return false;
    if (err.code === Code.DeadlineExceeded && err.provenance.plugin === PER_TRY_TIMEOUT_PLUGIN) return true;
    // The transport marks a failed connect and a refused stream alike as neverSent; the two
    // conditions cannot be told apart from here, so either one admits both.
    if (
      err.neverSent &&
      (this.has(RetryOn.RETRY_ON_CONNECT_FAILURE) || this.has(RetryOn.RETRY_ON_REFUSED_STREAM))
    )
      return true;
    if (this.has(RetryOn.RETRY_ON_RESET) && isReset(err)) return true;
    return this.#code(err.code);
  }

  /** May the call be tried again after this response? Successes never are. */
  response(res: MeshResponse): boolean {
    const code = res.code;
    // Connect's Code has no OK member; a code of 0 is OK.
    if (code !== undefined && code !== (0 as Code)) return this.#code(code);
    const status = res.status;
    if (status < 400) return false;
    if (status === 503 && (this.has(RetryOn.RETRY_ON_503) || this.has(RetryOn.RETRY_ON_UNAVAILABLE)))
      return true;
    if (status === 429 && this.has(RetryOn.RETRY_ON_RESOURCE_EXHAUSTED)) return true;
    return status >= 500 && this.has(RetryOn.RETRY_ON_5XX);
  }

  #code(code: Code): boolean {
    switch (code) {
      case Code.Unavailable:
        if (this.has(RetryOn.RETRY_ON_UNAVAILABLE) || this.has(RetryOn.RETRY_ON_503)) return true;
        break;
      case Code.ResourceExhausted:
        if (this.has(RetryOn.RETRY_ON_RESOURCE_EXHAUSTED)) return true;
        break;
      case Code.Canceled:
        // The caller gave up, or a hedge lost: never a reason to try again.
        return false;
    }
    return this.has(RetryOn.RETRY_ON_5XX) && httpStatusFromCode(code) >= 500;
  }
}

/** True when the error, or one it was caused by, is a reset connection or stream. */
export function isReset(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && RESET_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
