import type { MeshResponse } from "../call/call.ts";
import { asMeshError, MeshError, type Provenance } from "../errors/mesh-error.ts";
import type { Handler } from "./chain.ts";

/**
 * `handler` with anything but a MeshError it throws or rejects with made a MeshError of
 * `provenance`, so a failure always says where it came from. A handler that returned a
 * thenable or a plain value is answered as `await` would.
 */
export function attribute(provenance: Provenance, handler: Handler): Handler {
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
    return (result instanceof Promise ? result : Promise.resolve(result)).then(undefined, rethrow);
  };
}

/** For handlers that reject only with MeshErrors: only a synchronous throw needs turning into one. */
export function attributeThrows(provenance: Provenance, handler: Handler): Handler {
  return (call) => {
    try {
      return handler(call);
    } catch (err) {
      return Promise.reject(err instanceof MeshError ? err : asMeshError(err, provenance));
    }
  };
}
