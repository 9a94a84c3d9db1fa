import type { CallBody, CallKind, MeshCall, PeerIdentity, Place } from "@weft/core";

export interface AdoptedCallInit {
  readonly kind: CallKind;
  readonly place: Place;
  readonly service: string;
  readonly namespace: string;
  readonly method: string;
  readonly path: string;
  readonly httpMethod: string;
  /** Made for this request alone (connect's request headers, or the ones read off the wire). */
  readonly headers: Headers;
  readonly idempotent: boolean;
  readonly source?: PeerIdentity;
  readonly signal: AbortSignal;
  readonly body: CallBody;
}

/**
 * A MeshCall that takes ownership of headers made for this one request, where core's
 * `newCall` copies them: a Fetch Headers copy costs about a microsecond, as much as the
 * rest of the call's set-up, and nobody else reads these headers afterwards.
 */
export function adoptCall(init: AdoptedCallInit): MeshCall {
  return {
    kind: init.kind,
    place: init.place,
    service: init.service,
    namespace: init.namespace,
    method: init.method,
    path: init.path,
    httpMethod: init.httpMethod,
    headers: init.headers,
    deadline: undefined,
    idempotent: init.idempotent,
    source: init.source,
    destination: undefined,
    route: undefined,
    endpoint: undefined,
    attempt: 1,
    signal: init.signal,
    body: init.body,
    attributes: new Map(),
  };
}
