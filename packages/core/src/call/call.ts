import type { Code } from "@connectrpc/connect";
import { MeshHeaders } from "./mesh-headers.ts";

/** What kind of traffic a call is. */
export type CallKind =
  | "unary"
  | "server_streaming"
  | "client_streaming"
  | "bidi_streaming"
  | "http"
  | "tcp"
  | "udp";

/** The four places the chain runs in. */
export type Place = "client" | "sidecar-outbound" | "sidecar-inbound" | "server";

/** A workload identity: spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>. */
export interface PeerIdentity {
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** An endpoint as the chain sees it when one has been picked for an attempt. */
export interface EndpointRef {
  /** `address:port`; unique within a service. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly zone: string;
  /** SPIFFE ID the endpoint must present; empty when the service's identity applies. */
  readonly identity: string;
}

/**
 * The request body, opaque to the chain: the transport that made the call owns it.
 * `replayable` says whether it can be sent again (a buffered unary message can; a
 * request stream already partly consumed cannot), which retries and hedging respect.
 */
export interface CallBody {
  readonly replayable: boolean;
  readonly value: unknown;
}

/**
 * One call as every step of the chain sees it, whatever the protocol or the shape (in-process
 * or sidecar) of the data plane running the chain. Steps read and change it; per-attempt
 * copies are made with `forkCall`.
 */
export interface MeshCall {
  readonly kind: CallKind;
  readonly place: Place;
  /** Destination service name, and its namespace. */
  service: string;
  namespace: string;
  /** RPC method as `package.Service/Method`; empty for plain HTTP and L4 streams. */
  readonly method: string;
  /** HTTP path (`/package.Service/Method` for RPCs); empty for L4 streams. */
  readonly path: string;
  readonly httpMethod: string;
  readonly headers: Headers;
  /** Absolute deadline on the chain's clock (ms), or undefined for none. */
  deadline: number | undefined;
  /** May the call be sent more than once (idempotency_level, HTTP method semantics)? */
  readonly idempotent: boolean;
  /** The caller's identity, where known (inbound: from its certificate, never a header). */
  source: PeerIdentity | undefined;
  /** The identity the callee must prove; outbound steps and transports check it. */
  destination: PeerIdentity | undefined;
  /** Name of the route that matched, for telemetry and error provenance. */
  route: string | undefined;
  /** The endpoint picked for this attempt. */
  endpoint: EndpointRef | undefined;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the caller goes away or a policy gives up on this attempt. */
  readonly signal: AbortSignal;
  readonly body: CallBody;
  /** Per-call state of plugins, keyed by a symbol or a name the plugin owns. */
  readonly attributes: Map<string | symbol, unknown>;
}

/** How a call ended, known once its response is complete (streams included). */
export interface CallOutcome {
  /** gRPC/Connect code; Code.OK is 0. Undefined for plain HTTP, which reports `status`. */
  readonly code: Code | undefined;
  readonly status: number;
  readonly error?: Error;
}

/**
 * A response as soon as its head is known. `settled` resolves when the body has been
 * fully delivered (at once for buffered unary responses), for telemetry and passive health.
 */
export interface MeshResponse {
  /** HTTP status (200 for every gRPC response that reached the application). */
  readonly status: number;
  readonly headers: Headers;
  /** gRPC/Connect code when already known from the head (trailers-only responses, unary). */
  readonly code: Code | undefined;
  /** Opaque to the chain: the transport's response body. */
  readonly body: unknown;
  readonly endpoint?: EndpointRef;
  readonly settled: Promise<CallOutcome>;
}

export interface NewCall {
  kind: CallKind;
  place: Place;
  service: string;
  namespace?: string;
  method?: string;
  path?: string;
  httpMethod?: string;
  headers?: ConstructorParameters<typeof Headers>[0];
  deadline?: number;
  idempotent?: boolean;
  source?: PeerIdentity;
  destination?: PeerIdentity;
  signal?: AbortSignal;
  body?: CallBody;
}

/** Makes a call with the defaults a data plane would fill in. */
export function newCall(init: NewCall): MeshCall {
  const method = init.method ?? "";
  return {
    kind: init.kind,
    place: init.place,
    service: init.service,
    namespace: init.namespace ?? "default",
    method,
    path: init.path ?? (method ? `/${method}` : ""),
    httpMethod: init.httpMethod ?? (init.kind === "tcp" || init.kind === "udp" ? "CONNECT" : "POST"),
    headers: new MeshHeaders(init.headers),
    deadline: init.deadline,
    idempotent: init.idempotent ?? false,
    source: init.source,
    destination: init.destination,
    route: undefined,
    endpoint: undefined,
    attempt: 1,
    signal: init.signal ?? new AbortController().signal,
    body: init.body ?? { replayable: true, value: undefined },
    attributes: new Map(),
  };
}

/**
 * A copy of a call for one attempt: its own signal, endpoint and attempt number, the
 * same attributes (so plugins see the whole call) and a copy of the headers (so a step
 * may set attempt-specific headers without touching other attempts).
 */
export function forkCall(call: MeshCall, init: { attempt?: number; signal?: AbortSignal } = {}): MeshCall {
  return {
    ...call,
    headers: new MeshHeaders(call.headers),
    attempt: init.attempt ?? call.attempt,
    signal: init.signal ?? call.signal,
    endpoint: undefined,
  };
}

/** A response that is complete as it stands (errors turned into responses, tests). */
export function settledResponse(init: {
  status: number;
  code?: Code;
  headers?: ConstructorParameters<typeof Headers>[0];
  body?: unknown;
  endpoint?: EndpointRef;
}): MeshResponse {
  return {
    status: init.status,
    headers: new MeshHeaders(init.headers),
    code: init.code,
    body: init.body,
    endpoint: init.endpoint,
    settled: Promise.resolve({ code: init.code, status: init.status }),
  };
}
