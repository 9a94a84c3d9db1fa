import type { MeshCall, MeshResponse, Place } from "../call/call.ts";
import type { Clock } from "../clock/clock.ts";
import { attribute, attributeThrows } from "./attribute.ts";
import { type Filter, fuse } from "./filter.ts";

/** Sends a call on and resolves with the response head; throws MeshError on failure. */
export type Handler = (call: MeshCall) => Promise<MeshResponse>;

/** A step of the chain, Connect-interceptor style: `(next) => async (call) => response`. */
export type Interceptor = (next: Handler) => Handler;

/**
 * A named step. Built-in features and user plugins are all Steps. A step may also come in
 * its phased form (`filter`), which compose fuses with neighbouring filters so that a run
 * of them costs one promise turn per call; `interceptor` must then behave the same.
 */
export interface Step {
  readonly name: string;
  readonly interceptor: Interceptor;
  readonly filter?: Filter;
}

/**
 * Interceptors whose handlers reject only with MeshErrors of their own or with what `next`
 * rejected with. compose gives them no asynchronous wrapper: what crosses them from below is
 * already a MeshError, so catching it again would cost a promise and a tick per step for
 * nothing. Synchronous throws are still attributed to them.
 */
const meshErrorsOnly = new WeakSet<Interceptor>();

/** Marks a built-in interceptor as rejecting only with MeshErrors (see meshErrorsOnly). */
export function rejectsWithMeshErrors<I extends Interceptor>(interceptor: I): I {
  meshErrorsOnly.add(interceptor);
  return interceptor;
}

/**
 * Composes steps around a terminal handler (the transport, or the application's handler on
 * the server side). The first step is the outermost. Anything but a MeshError thrown by a
 * step or the terminal becomes a MeshError naming that step, so a failure always says
 * where it came from. Neighbouring steps with a `filter` are fused into one run (see
 * Filter). With the chain's `clock`, each call is stamped with the time it entered
 * (`call.startedAt`), which the steps read instead of the clock.
 */
export function compose(place: Place, steps: readonly Step[], terminal: Step, clock?: Clock): Handler {
  const terminalProvenance = { place, plugin: terminal.name, policy: "" };
  const raw = terminal.interceptor(unreachable);
  let handler = attribute(terminalProvenance, raw);
  // The terminal as it is, while nothing has been composed over it: a run of filters right
  // above it makes its failures MeshErrors itself, saving the terminal a promise turn.
  let rawBelow: Handler | undefined = raw;
  for (let i = steps.length - 1; i >= 0; ) {
    const step = steps[i] as Step;
    if (step.filter !== undefined) {
      let top = i;
      while (top > 0 && (steps[top - 1] as Step).filter !== undefined) top--;
      const run = steps.slice(top, i + 1);
      handler = fuse(
        place,
        run.map((s) => s.name),
        run.map((s) => s.filter as Filter),
        rawBelow ?? handler,
        rawBelow === undefined ? undefined : terminalProvenance,
      );
      i = top - 1;
    } else {
      const provenance = { place, plugin: step.name, policy: "" };
      handler = meshErrorsOnly.has(step.interceptor)
        ? attributeThrows(provenance, step.interceptor(handler))
        : attribute(provenance, step.interceptor(handler));
      i--;
    }
    rawBelow = undefined;
  }
  if (clock === undefined) return handler;
  const chain = handler;
  return (call) => {
    call.startedAt = clock.now();
    return chain(call);
  };
}

/** The interceptor form of a filter named `name`, for use alone or among interceptors. */
export function interceptorOf(filter: Filter, place: Place, name: string): Interceptor {
  // A fused run rejects only with MeshErrors: it makes every other failure one.
  return rejectsWithMeshErrors((next) => fuse(place, [name], [filter], next, undefined));
}

/** A step's body for a filter: the filter compose fuses, and its interceptor form for all else. */
export function filterStep(
  filter: Filter,
  place: Place,
  name: string,
): { interceptor: Interceptor; filter: Filter } {
  return { interceptor: interceptorOf(filter, place, name), filter };
}

/** A terminal step from a plain handler. */
export function terminalStep(name: string, handler: Handler): Step {
  return { name, interceptor: () => handler };
}

const unreachable: Handler = () => Promise.reject(new Error("the terminal step called next()"));
