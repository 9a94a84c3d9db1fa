import { Code } from "@connectrpc/connect";
import { forkCall, type MeshCall } from "../call/call.ts";
import { filterStep, type Interceptor, interceptorOf } from "../chain/chain.ts";
import type { Filter, FilterRun } from "../chain/filter.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import { deadlineTimers } from "../clock/deadline-timers.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { DeadlineExchange, type Expire } from "./deadline-exchange.ts";
import { writeDeadlineHeaders } from "./deadline-headers.ts";
import { PER_TRY_TIMEOUT_PLUGIN } from "./retry-on.ts";
import { formatMs } from "./timeout.ts";

export interface PerTryTimeoutOptions {
  perTryMs: number;
}

/**
 * Bounds each attempt (the innermost resilience step, so it times what the endpoint
 * takes). Where the call's deadline comes first, that deadline governs and this step only
 * writes the time remaining; otherwise the attempt's cancellation is aborted after
 * `perTryMs` and the attempt fails with DeadlineExceeded, which the retry step always retries.
 */
export function perTryTimeoutFilter(options: PerTryTimeoutOptions, ctx: PluginContext): Filter {
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
  const open = (call: MeshCall, run: FilterRun): DeadlineExchange | undefined => {
    const now = call.startedAt ?? clock.now();
    if (call.deadline !== undefined && call.deadline <= now + perTryMs) {
      writeDeadlineHeaders(call.headers, call.deadline - now);
      return undefined;
    }
    writeDeadlineHeaders(call.headers, perTryMs);
    const cancellation = call.cancellation.child();
    const attempt = forkCall(call, { deadline: now + perTryMs, cancellation, shareHeaders: true });
    return new DeadlineExchange(run, clock, timers, attempt, perTryMs, now, expired);
  };
  return { cuts: true, bind: () => open };
}

/** The per-try timeout step as an interceptor (see perTryTimeoutFilter). */
export function perTryTimeoutInterceptor(options: PerTryTimeoutOptions, ctx: PluginContext): Interceptor {
  return interceptorOf(perTryTimeoutFilter(options, ctx), ctx.place, PER_TRY_TIMEOUT_PLUGIN);
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
  create: (options, ctx) => filterStep(perTryTimeoutFilter(options, ctx), ctx.place, PER_TRY_TIMEOUT_PLUGIN),
});
