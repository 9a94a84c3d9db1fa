import type { MeshCall, MeshResponse, Place } from "../call/call.ts";
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
 * Composes steps around a terminal handler (the transport, or the application's handler on
 * the server side). The first step is the outermost. Anything but a MeshError thrown by a
 * step or the terminal becomes a MeshError naming that step, so a failure always says
 * where it came from.
 */
export function compose(place: Place, steps: readonly Step[], terminal: Step): Handler {
  let handler = attribute(place, terminal.name, terminal.interceptor(unreachable));
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    if (step) handler = attribute(place, step.name, step.interceptor(handler));
  }
  return handler;
}

/** A terminal step from a plain handler. */
export function terminalStep(name: string, handler: Handler): Step {
  return { name, interceptor: () => handler };
}

function attribute(place: Place, plugin: string, handler: Handler): Handler {
  return async (call) => {
    try {
      return await handler(call);
    } catch (err) {
      if (err instanceof MeshError) throw err;
      throw asMeshError(err, { place, plugin, policy: "" });
    }
  };
}

const unreachable: Handler = () => Promise.reject(new Error("the terminal step called next()"));
