import { Code } from "@connectrpc/connect";
import { forkCall, type MeshCall, type MeshResponse } from "../call/call.ts";
import type { Handler, Interceptor } from "../chain/chain.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { writeDeadlineHeaders } from "./deadline-headers.ts";
import { type Expire, raceTimer } from "./deadline-race.ts";
import { deadlineTimers } from "./deadline-timers.ts";
import { PER_TRY_TIMEOUT_PLUGIN } from "./retry-on.ts";
import { formatMs } from "./timeout.ts";

export interface PerTryTimeoutOptions {
  perTryMs: number;
}

/**
 * Bounds each attempt (the innermost resilience step, so it times what the endpoint
 * takes). Where the call's deadline comes first, that deadline governs and this step only
 * writes the time remaining; otherwise the attempt's signal is aborted after `perTryMs`
 * and the attempt fails with DeadlineExceeded, which the retry step always retries.
 */
export function perTryTimeoutInterceptor(options: PerTryTimeoutOptions, ctx: PluginContext): Interceptor {
  const perTryMs = options.perTryMs;
  if (!(perTryMs > 0)) throw new Error(`per-try timeout must be > 0 ms, got ${perTryMs}`);
  const { clock, place } = ctx;
  const timers = deadlineTimers(clock);
  const expired: Expire = (attempt) =>
    new MeshError(
      Code.DeadlineExceeded,
      `per-try timeout of ${formatMs(perTryMs)} exceeded on attempt ${attempt.attempt}`,
      { place, plugin: PER_TRY_TIMEOUT_PLUGIN, policy: attempt.route ?? "" },
    );
  return (next: Handler): Handler =>
    (call: MeshCall): Promise<MeshResponse> => {
      const now = call.startedAt ?? clock.now();
      if (call.deadline !== undefined && call.deadline <= now + perTryMs) {
        writeDeadlineHeaders(call.headers, call.deadline - now);
        return next(call);
      }
      writeDeadlineHeaders(call.headers, perTryMs);
      const cancellation = call.cancellation.child();
      const attempt = forkCall(call, { deadline: now + perTryMs, cancellation, shareHeaders: true });
      return raceTimer(clock, timers, next, attempt, perTryMs, now, expired);
    };
}

export const perTryTimeoutPlugin = definePlugin<PerTryTimeoutOptions>({
  name: PER_TRY_TIMEOUT_PLUGIN,
  places: ["client", "sidecar-outbound"],
  parseOptions: (raw) => {
    const ms = raw.perTryMs;
    if (typeof ms !== "number" || !(ms > 0)) {
      throw new Error(
        `per-try-timeout: option perTryMs must be a number of ms > 0, got ${JSON.stringify(ms)}`,
      );
    }
    return { perTryMs: ms };
  },
  create: (options, ctx) => perTryTimeoutInterceptor(options, ctx),
});
