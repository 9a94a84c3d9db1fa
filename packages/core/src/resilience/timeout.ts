import { Code } from "@connectrpc/connect";
import { forkCall, type MeshCall, type Place } from "../call/call.ts";
import { filterStep, type Interceptor, interceptorOf } from "../chain/chain.ts";
import type { Filter, FilterRun } from "../chain/filter.ts";
import { definePlugin, type PluginContext } from "../chain/plugin.ts";
import { deadlineTimers } from "../clock/deadline-timers.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { type TimeoutPolicy, TimeoutPolicySchema } from "../gen/weft/v1/policy_pb.js";
import { attemptsStarted } from "./attributes.ts";
import { DeadlineExchange, type Expire } from "./deadline-exchange.ts";
import { deadlineFromHeaders, writeDeadlineHeaders } from "./deadline-headers.ts";
import { msFromDuration } from "./duration.ts";
import { policyFromJson } from "./plugin-options.ts";

export interface TimeoutOptions {
  /** Whole call, every attempt included; unset means only a deadline the caller sent applies. */
  requestMs?: number;
  /**
   * A step further in (retry, per-try timeout) writes the time remaining into the headers of
   * every attempt it sends, so this step leaves them alone: writing them twice per call is
   * most of what propagation costs. Steps in between see the deadline on `call.deadline`.
   */
  attemptsWriteHeaders?: boolean;
}

export function timeoutOptionsFromProto(policy: TimeoutPolicy | undefined): TimeoutOptions {
  const requestMs = msFromDuration(policy?.request);
  // A zero Duration is how YAML says "no timeout" (Envoy's convention).
  return { requestMs: requestMs ? requestMs : undefined };
}

/**
 * Bounds a call by its deadline: the shortest of the call's own, the one the caller sent
 * (`grpc-timeout`, `connect-timeout-ms`) and the configured request timeout. The deadline
 * is set on the call and the time remaining written to both headers for the next hop.
 * When it passes, the call's cancellation is aborted (so attempts and the transport stop)
 * and the call fails with DeadlineExceeded; for a stream, the cancellation is aborted even
 * after the head has come, until the stream has settled.
 */
export function timeoutFilter(options: TimeoutOptions, ctx: PluginContext): Filter {
  const requestMs = options.requestMs !== undefined && options.requestMs > 0 ? options.requestMs : undefined;
  const { clock, place } = ctx;
  const writeHeaders = options.attemptsWriteHeaders !== true;
  const timers = deadlineTimers(clock);
  // One per source of the deadline, made once: a closure per call is a measurable share of the step.
  const expired: Record<DeadlineSource, Expire> = {
    call: expiry(place, "call"),
    caller: expiry(place, "caller"),
    route: expiry(place, "route"),
  };
  const open = (call: MeshCall, run: FilterRun): DeadlineExchange | undefined => {
    const now = call.startedAt ?? clock.now();
    let deadline = call.deadline;
    let source: DeadlineSource = "call";
    const sent = deadlineFromHeaders(call.headers, now);
    if (sent !== undefined && (deadline === undefined || sent < deadline)) {
      deadline = sent;
      source = "caller";
    }
    if (requestMs !== undefined && (deadline === undefined || now + requestMs < deadline)) {
      deadline = now + requestMs;
      source = "route";
    }
    if (deadline === undefined) return undefined;
    const budget = deadline - now;
    if (budget <= 0) {
      throw new MeshError(
        Code.DeadlineExceeded,
        `deadline (${sourceName(source)}) had already passed when the call arrived`,
        { place, plugin: "timeout", policy: call.route ?? "" },
      );
    }
    const cancellation = call.cancellation.child();
    const bounded = forkCall(call, { deadline, cancellation, shareHeaders: true });
    if (writeHeaders) writeDeadlineHeaders(bounded.headers, budget);
    return new DeadlineExchange(run, clock, timers, bounded, budget, now, expired[source]);
  };
  return { cuts: true, bind: () => open };
}

/** The timeout step as an interceptor (see timeoutFilter). */
export function timeoutInterceptor(options: TimeoutOptions, ctx: PluginContext): Interceptor {
  return interceptorOf(timeoutFilter(options, ctx), ctx.place, "timeout");
}

type DeadlineSource = "call" | "caller" | "route";

/** The error of a deadline from `source` that passed after `ms`. */
function expiry(place: Place, source: DeadlineSource): Expire {
  return (call, ms) =>
    new MeshError(
      Code.DeadlineExceeded,
      `deadline of ${formatMs(ms)} (${sourceName(source)}) exceeded after ${plural(attemptsStarted(call.attributes), "attempt")}`,
      { place, plugin: "timeout", policy: call.route ?? "" },
    );
}

function sourceName(source: DeadlineSource): string {
  switch (source) {
    case "caller":
      return "sent by the caller";
    case "route":
      return "request timeout";
    default:
      return "set on the call";
  }
}

export function formatMs(ms: number): string {
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Math.round(ms * 1000) / 1000}ms`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export const timeoutPlugin = definePlugin<TimeoutOptions>({
  name: "timeout",
  parseOptions: (raw) => timeoutOptionsFromProto(policyFromJson("timeout", TimeoutPolicySchema, raw)),
  create: (options, ctx) => filterStep(timeoutFilter(options, ctx), ctx.place, "timeout"),
});
