import type { MeshCall, MeshResponse, Place } from "../call/call.ts";
import type { Clock } from "../clock/clock.ts";
import { asMeshError, MeshError } from "../errors/mesh-error.ts";

/** Sends a call on and resolves with the response head; throws MeshError on failure. */
export type Handler = (call: MeshCall) => Promise<MeshResponse>;

/** A step of the chain, Connect-interceptor style: `(next) => async (call) => response`. */
export type Interceptor = (next: Handler) => Handler;

/** A named step. Built-in features and user plugins are all Steps. */
export interface Step {
  readonly name: string;
  readonly interceptor: Interceptor;
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
 * where it came from. With the chain's `clock`, each call is stamped with the time it
 * entered (`call.startedAt`), which the steps read instead of the clock.
 */
export function compose(place: Place, steps: readonly Step[], terminal: Step, clock?: Clock): Handler {
  let handler = attribute(place, terminal.name, terminal.interceptor(unreachable));
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    if (!step) continue;
    handler = meshErrorsOnly.has(step.interceptor)
      ? attributeThrows(place, step.name, step.interceptor(handler))
      : attribute(place, step.name, step.interceptor(handler));
  }
  if (clock === undefined) return handler;
  const chain = handler;
  return (call) => {
    call.startedAt = clock.now();
    return chain(call);
  };
}

/** A terminal step from a plain handler. */
export function terminalStep(name: string, handler: Handler): Step {
  return { name, interceptor: () => handler };
}

function attribute(place: Place, plugin: string, handler: Handler): Handler {
  const provenance = { place, plugin, policy: "" };
  const rethrow = (err: unknown): never => {
    if (err instanceof MeshError) throw err;
    throw asMeshError(err, provenance);
  };
  return (call) => {
    let result: Promise<MeshResponse>;
    try {
      result = handler(call);
    } catch (err) {
      return Promise.reject(err instanceof MeshError ? err : asMeshError(err, provenance));
    }
    // A handler that returned a thenable or a plain value is answered as `await` would.
    return (result instanceof Promise ? result : Promise.resolve(result)).then(undefined, rethrow);
  };
}

/** For meshErrorsOnly steps: only a synchronous throw needs turning into a MeshError. */
function attributeThrows(place: Place, plugin: string, handler: Handler): Handler {
  return (call) => {
    try {
      return handler(call);
    } catch (err) {
      return Promise.reject(err instanceof MeshError ? err : asMeshError(err, { place, plugin, policy: "" }));
    }
  };
}

const unreachable: Handler = () => Promise.reject(new Error("the terminal step called next()"));
