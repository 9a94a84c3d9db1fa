import { Code } from "@connectrpc/connect";
import type { MeshCall, MeshResponse } from "../call/call.ts";
import type { Handler, Interceptor } from "../chain/chain.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import { sleep } from "../clock/clock.ts";
import { codeFromHttpStatus } from "../errors/codes.ts";
import { asMeshError, MeshError } from "../errors/mesh-error.ts";
import { type FaultInjection, FaultInjectionSchema } from "../gen/weft/v1/policy_pb.js";
import { msFromDuration } from "./duration.ts";
import { policyFromJson } from "./plugin-options.ts";

export interface FaultOptions {
  delayMs?: number;
  /** Share of calls delayed, 0-100. */
  delayPercent?: number;
  /** HTTP status of injected failures (4xx or 5xx); gRPC calls get the matching code. */
  abortHttpStatus?: number;
  /** Share of calls failed, 0-100. */
  abortPercent?: number;
  /** Uniform in [0, 1); Math.random unless a test injects one. */
  random?: () => number;
}

export function faultOptionsFromProto(policy: FaultInjection): FaultOptions {
  return {
    delayMs: msFromDuration(policy.delay),
    delayPercent: policy.delayPercent,
    abortHttpStatus: policy.abortHttpStatus || undefined,
    abortPercent: policy.abortPercent,
  };
}

/** True when the options would ever delay or fail a call. */
export function faultConfigured(o: FaultOptions): boolean {
  return (
    ((o.delayMs ?? 0) > 0 && (o.delayPercent ?? 0) > 0) || (!!o.abortHttpStatus && (o.abortPercent ?? 0) > 0)
  );
}

/**
 * Fault injection, for testing how callers cope: a share of calls is delayed (on the
 * injected clock), and a share failed with a MeshError whose code is the gRPC code for
 * the configured HTTP status. The two draws are independent, as in Envoy.
 */
export function faultInterceptor(options: FaultOptions, ctx: PluginContext): Interceptor {
  const delayMs = options.delayMs ?? 0;
  const delayShare = delayMs > 0 ? (options.delayPercent ?? 0) / 100 : 0;
  const status = options.abortHttpStatus ?? 0;
  const abortShare = status > 0 ? (options.abortPercent ?? 0) / 100 : 0;
  if (abortShare > 0 && (status < 400 || status > 599)) {
    throw new Error(`fault abort_http_status must be a 4xx or 5xx status, got ${status}`);
  }
  const code = codeFromHttpStatus(status) ?? Code.Unknown;
  const random = options.random ?? Math.random;
  const { clock, place } = ctx;
  const abort = (call: MeshCall): Promise<MeshResponse> =>
    Promise.reject(
      new MeshError(
        code,
        `fault injected: HTTP ${status} for ${options.abortPercent}% of calls to ${call.service}`,
        { place, plugin: "fault", policy: call.route ?? "" },
        { neverSent: true },
      ),
    );
  return (next: Handler): Handler =>
    (call: MeshCall): Promise<MeshResponse> => {
      const delayed = delayShare > 0 && random() < delayShare;
      const aborted = abortShare > 0 && random() < abortShare;
      if (!delayed) return aborted ? abort(call) : next(call);
      return sleep(clock, delayMs, call.cancellation).then(
        () => (aborted ? abort(call) : next(call)),
        (reason: unknown) => {
          throw asMeshError(reason, { place, plugin: "fault", policy: call.route ?? "" });
        },
      );
    };
}

export const faultPlugin = definePlugin<FaultOptions>({
  name: "fault",
  parseOptions: (raw) => faultOptionsFromProto(policyFromJson("fault", FaultInjectionSchema, raw)),
  create: (options, ctx) => faultInterceptor(options, ctx),
});
