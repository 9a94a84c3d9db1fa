import type { Code } from "@connectrpc/connect";
import { Cancellation } from "./cancellation.ts";
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
  /**
   * The outcome, when the head already completes the response (a buffered unary answer, an
   * error made into a response); `settled` must resolve to the same. Steps that watch for
   * the end use `whenSettled`, which reads it at once instead of waiting a promise turn on
   * `settled` per step.
   */
  readonly outcome?: CallOutcome;
}

/** Releases `cancellation` once the response has settled (at once when it came whole). */
export function releaseWhenSettled(response: MeshResponse, cancellation: Cancellation): void {
  if (response.outcome !== undefined) cancellation.release();
  else response.settled.then(cancellation.releaseLater, cancellation.releaseLater);
}

/** Calls `onOutcome` once the response has settled: at once when its outcome came with the head. */
export function whenSettled(
  response: MeshResponse,
  onOutcome: (outcome: CallOutcome) => void,
  onError: (err: unknown) => void,
): void {
  const outcome = response.outcome;
  if (outcome !== undefined) onOutcome(outcome);
  else response.settled.then(onOutcome, onError);
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
  /**
   * Take `headers` (a Headers made for this one request, read by nobody else) as the
   * call's own instead of copying them: a copy costs as much as the rest of a call's set-up.
   */
  ownHeaders?: boolean;
  deadline?: number;
  idempotent?: boolean;
  source?: PeerIdentity;
  destination?: PeerIdentity;
  /** The caller's signal; the call's cancellation follows it. */
  signal?: AbortSignal;
  body?: CallBody;
  /** When the call began on the chain's clock; a chain composed with a clock stamps it on entry. */
  startedAt?: number;
}

/**
 * One call as every step of the chain sees it, whatever the protocol or the shape (in-process
 * or sidecar) of the data plane running the chain. Steps read and change it; calls are made
 * with `newCall` and per-attempt copies with `forkCall`. A class, so that every call has one
 * shape and `signal` is made only when read (an AbortController per call is a third of what
 * a call costs the chain, and most steps never look at it).
 */
export class MeshCall {
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
  /**
   * When the call entered the chain (for an attempt: when the attempt began), on the
   * chain's clock; undefined when no one stamped it (a chain composed without a clock).
   * Steps that need the time at entry read it here: a clock read costs a tenth of a step.
   */
  startedAt: number | undefined;
  /**
   * Cancelled when the caller goes away or a policy gives up on this attempt. Steps that
   * may give up on their own take a `child()`, abort it, and `release()` it when done.
   */
  readonly cancellation: Cancellation;
  readonly body: CallBody;
  /** Per-call state of plugins, keyed by a symbol or a name the plugin owns. */
  readonly attributes: Map<string | symbol, unknown>;

  /** Use `newCall` or `forkCall`, which fill in what a data plane would. */
  constructor(
    kind: CallKind,
    place: Place,
    service: string,
    namespace: string,
    method: string,
    path: string,
    httpMethod: string,
    headers: Headers,
    deadline: number | undefined,
    idempotent: boolean,
    source: PeerIdentity | undefined,
    destination: PeerIdentity | undefined,
    route: string | undefined,
    endpoint: EndpointRef | undefined,
    attempt: number,
    startedAt: number | undefined,
    cancellation: Cancellation,
    body: CallBody,
    attributes: Map<string | symbol, unknown>,
  ) {
    this.kind = kind;
    this.place = place;
    this.service = service;
    this.namespace = namespace;
    this.method = method;
    this.path = path;
    this.httpMethod = httpMethod;
    this.headers = headers;
    this.deadline = deadline;
    this.idempotent = idempotent;
    this.source = source;
    this.destination = destination;
    this.route = route;
    this.endpoint = endpoint;
    this.attempt = attempt;
    this.startedAt = startedAt;
    this.cancellation = cancellation;
    this.body = body;
    this.attributes = attributes;
  }

  /** `cancellation.signal`: an AbortSignal for transports and APIs that take one, made on first read. */
  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}

function isHeaders(headers: unknown): headers is Headers {
  return headers instanceof MeshHeaders || headers instanceof Headers;
}

/** The body of a call made without one (an L4 stream's, a GET's): nothing to send, so always replayable. */
const NO_BODY: CallBody = Object.freeze({ replayable: true, value: undefined });

/** Makes a call with the defaults a data plane would fill in. */
export function newCall(init: NewCall): MeshCall {
  const method = init.method ?? "";
  const headers =
    init.ownHeaders === true && isHeaders(init.headers) ? init.headers : new MeshHeaders(init.headers);
  return new MeshCall(
    init.kind,
    init.place,
    init.service,
    init.namespace ?? "default",
    method,
    init.path ?? (method ? `/${method}` : ""),
    init.httpMethod ?? (init.kind === "tcp" || init.kind === "udp" ? "CONNECT" : "POST"),
    headers,
    init.deadline,
    init.idempotent ?? false,
    init.source,
    init.destination,
    undefined,
    undefined,
    1,
    init.startedAt,
    Cancellation.follow(init.signal),
    init.body ?? NO_BODY,
    new Map(),
  );
}

export interface ForkCall {
  /** The attempt number of the copy; the call's by default. */
  attempt?: number;
  /** The copy's cancellation (usually a `child()` of the call's); the call's by default. */
  cancellation?: Cancellation;
  /** A caller's signal the copy follows instead (a new root). */
  signal?: AbortSignal;
  /** The copy's deadline; the call's by default. */
  deadline?: number;
  /** Share the call's headers instead of copying them (the copy is the only one that will write them). */
  shareHeaders?: boolean;
  /** When the copy (an attempt) began, on the chain's clock; the call's by default. */
  startedAt?: number;
}

/**
 * A copy of a call for one attempt (or one bounded stretch of it): its own cancellation,
 * deadline and attempt number, no endpoint yet, the same attributes (so plugins see the
 * whole call) and a copy of the headers (so a step may set attempt-specific headers
 * without touching other attempts) unless told to share them.
 */
export function forkCall(call: MeshCall, init: ForkCall = {}): MeshCall {
  const cancellation =
    init.cancellation ?? (init.signal !== undefined ? Cancellation.follow(init.signal) : call.cancellation);
  return new MeshCall(
    call.kind,
    call.place,
    call.service,
    call.namespace,
    call.method,
    call.path,
    call.httpMethod,
    init.shareHeaders === true ? call.headers : new MeshHeaders(call.headers),
    init.deadline ?? call.deadline,
    call.idempotent,
    call.source,
    call.destination,
    call.route,
    undefined,
    init.attempt ?? call.attempt,
    init.startedAt ?? call.startedAt,
    cancellation,
    call.body,
    call.attributes,
  );
}

/**
 * A response that is complete as it stands (a body read whole, errors turned into
 * responses, tests): its outcome comes with the head, so the chain's steps need not wait a
 * turn for it.
 */
export function settledResponse(init: {
  status: number;
  code?: Code;
  headers?: ConstructorParameters<typeof Headers>[0];
  /** Take `headers` (a Headers read off the wire for this response alone) instead of copying them. */
  ownHeaders?: boolean;
  body?: unknown;
  endpoint?: EndpointRef;
}): MeshResponse {
  const outcome: CallOutcome = { code: init.code, status: init.status };
  return {
    status: init.status,
    headers:
      init.ownHeaders === true && isHeaders(init.headers) ? init.headers : new MeshHeaders(init.headers),
    code: init.code,
    body: init.body,
    endpoint: init.endpoint,
    settled: Promise.resolve(outcome),
    outcome,
  };
}
