import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { type Clock, sleep, systemClock } from "../../clock/clock.ts";
import {
  type DiscoverRequest,
  DiscoverRequestSchema,
  type DiscoverResponse,
  DiscoveryService,
  type EndpointDelta,
  RegistrationSchema,
  type Snapshot,
  type TrafficStatSchema,
} from "../../model.ts";
import { type BackoffOptions, backoffDelay } from "../backoff.ts";
import { applyEndpointDelta } from "./apply-delta.ts";
import { AsyncQueue } from "./async-queue.ts";

/**
 * The longest a data plane waits between attempts to reach the control plane. A control plane
 * that restarts after an outage sees its data planes come back over up to this long.
 */
export const DATA_PLANE_RECONNECT_MAX_MS = 30_000;

/** Reconnect delays: a thousand data planes cut off at once must not come back at once. */
const RECONNECT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: DATA_PLANE_RECONNECT_MAX_MS };

/** What the application learns about a pushed version before it is applied. */
export interface PushInfo {
  version: string;
  /** How it arrived: a whole snapshot, or an endpoint delta already merged into one. */
  kind: "snapshot" | "delta";
}

/** Things worth a log line; none of them needs an answer. */
export type DataPlaneEvent =
  | { type: "connected" }
  | { type: "accepted"; version: string }
  | { type: "rejected"; version: string; reason: string }
  | { type: "disconnected"; error: unknown; retryInMs: number }
  | { type: "traffic-failed"; error: unknown };

export interface DataPlaneClientOptions {
  /**
   * The control plane, e.g. `http://127.0.0.1:15010`; or several replicas of it (sharing
   * one store), tried in turn: after a stream fails the client reconnects to the next one.
   */
  url: string | readonly string[];
  registration: MessageInitShape<typeof RegistrationSchema>;
  /**
   * Applies a version. Return (or resolve) to accept it: the client ACKs. Throw (or reject)
   * to refuse it: the client NACKs with the error's message and the previous version stays
   * in force. Called for one version at a time.
   */
  onSnapshot: (snapshot: Snapshot, info: PushInfo) => void | Promise<void>;
  onEvent?: (event: DataPlaneEvent) => void;
  /**
   * The version held from an earlier run (a sidecar's disk cache): it is in force from the
   * start, and the control plane does not resend it when it is still current.
   */
  cached?: { version: string; snapshot: Snapshot };
  /** A transport of your own (mTLS, shared connection); the client then leaves it open on close. */
  transport?: Transport;
  backoff?: BackoffOptions;
  /**
   * Golden signals for the control plane's dashboard: called every `trafficIntervalMs`
   * while connected, it returns the counters since its previous call, one entry per
   * destination service (`name` in this namespace, or `namespace/name`). A call that
   * throws is skipped (a `traffic-failed` event) and the next one covers that time too.
   */
  traffic?: () => MessageInitShape<typeof TrafficStatSchema>[];
  /** How often `traffic` is reported. Default 10 s. */
  trafficIntervalMs?: number;
  /** HTTP/2 PING interval that notices a dead control plane. Default 15 s. */
  keepaliveMs?: number;
  clock?: Clock;
  random?: () => number;
}

export interface DataPlaneClient {
  /** The version in force (accepted last), if any. */
  readonly version: string | undefined;
  readonly snapshot: Snapshot | undefined;
  /** Whether a discovery stream is open and has heard from the control plane. */
  readonly connected: boolean;
  /** Ends the stream (the control plane starts this endpoint's grace period) and stops reconnecting. */
  close(): Promise<void>;
}

/**
 * Connects a data plane (in-process SDK or sidecar) to the control plane and keeps it
 * connected: registers, applies each pushed version through `onSnapshot` and answers
 * ACK/NACK, and after any disconnect reconnects with exponential backoff and jitter,
 * registering with the version it holds so an unchanged state is not resent.
 */
export function connectDataPlane(options: DataPlaneClientOptions): DataPlaneClient {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const sessionManagers: Http2SessionManager[] = [];
  let clients: Client<typeof DiscoveryService>[];
  if (options.transport) clients = [createClient(DiscoveryService, options.transport)];
  else {
    const urls = typeof options.url === "string" ? [options.url] : options.url;
    if (urls.length === 0) throw new Error("connectDataPlane needs at least one control-plane url");
    const keepalive = options.keepaliveMs ?? 15_000;
    clients = urls.map((url) => {
      const sessionManager = new Http2SessionManager(url, {
        pingIntervalMs: keepalive,
        pingTimeoutMs: keepalive,
      });
      sessionManagers.push(sessionManager);
      const transport = createConnectTransport({
        baseUrl: url,
        httpVersion: "2",
        useBinaryFormat: true,
        sessionManager,
      });
      return createClient(DiscoveryService, transport);
    });
  }
  const stop = new AbortController();
  const state = {
    version: options.cached?.version,
    snapshot: options.cached?.snapshot,
    connected: false,
  };

  const loop = (async () => {
    let attempt = 0;
    let current = 0;
    while (!stop.signal.aborted) {
      const client = clients[current % clients.length] as Client<typeof DiscoveryService>;
      const startedAt = clock.now();
      let heard = false;
      let error: unknown;
      try {
        await runStream(client, options, clock, state, stop.signal, () => {
          if (!heard) options.onEvent?.({ type: "connected" });
          heard = true;
          state.connected = true;
        });
        error = new Error("the control plane ended the discovery stream");
      } catch (e) {
        error = e;
      } finally {
        state.connected = false;
      }
      if (stop.signal.aborted) break;
      // This replica failed (or went away): the next attempt goes to another.
      current++;
      // A stream that worked for a while was a success: start the backoff over.
      const backoff = options.backoff ?? RECONNECT_BACKOFF;
      if (heard || clock.now() - startedAt >= backoff.maxMs) attempt = 0;
      const delay = backoffDelay(++attempt, backoff, random);
      options.onEvent?.({ type: "disconnected", error, retryInMs: delay });
      await sleep(clock, delay, stop.signal).catch(() => undefined);
    }
  })();

  return {
    get version() {
      return state.version;
    },
    get snapshot() {
      return state.snapshot;
    },
    get connected() {
      return state.connected;
    },
    async close() {
      stop.abort(new Error("data-plane client closed"));
      await loop;
      for (const m of sessionManagers) m.abort();
    },
  };
}

async function runStream(
  client: Client<typeof DiscoveryService>,
  options: DataPlaneClientOptions,
  clock: Clock,
  state: { version: string | undefined; snapshot: Snapshot | undefined },
  signal: AbortSignal,
  onHeard: () => void,
): Promise<void> {
  const requests = new AsyncQueue<DiscoverRequest>();
  const registration = create(RegistrationSchema, options.registration);
  if (state.version !== undefined) registration.lastVersion = state.version;
  requests.push(create(DiscoverRequestSchema, { kind: { case: "register", value: registration } }));
  const streamEnded = new AbortController();
  let heard = false;
  if (options.traffic)
    void reportTraffic(options, clock, requests, () => heard, AbortSignal.any([signal, streamEnded.signal]));
  try {
    for await (const response of client.discover(requests, { signal })) {
      heard = true;
      onHeard();
      const answer = await apply(response, options, state);
      requests.push(answer);
    }
  } finally {
    streamEnded.abort();
    requests.close();
  }
}

/** Sends a TrafficReport every interval on the open stream until it ends. */
async function reportTraffic(
  options: DataPlaneClientOptions,
  clock: Clock,
  requests: AsyncQueue<DiscoverRequest>,
  heard: () => boolean,
  signal: AbortSignal,
): Promise<void> {
  const traffic = options.traffic;
  if (!traffic) return;
  const intervalMs = options.trafficIntervalMs ?? 10_000;
  for (;;) {
    try {
      await sleep(clock, intervalMs, signal);
    } catch {
      return;
    }
    // Until the control plane answers, the stream may never carry anything: the counters
    // stay with the caller for the next report instead of being lost.
    if (!heard()) continue;
    let stats: MessageInitShape<typeof TrafficStatSchema>[];
    try {
      stats = traffic();
    } catch (error) {
      options.onEvent?.({ type: "traffic-failed", error });
      continue;
    }
    requests.push(create(DiscoverRequestSchema, { kind: { case: "traffic", value: { stats } } }));
  }
}

async function apply(
  response: DiscoverResponse,
  options: DataPlaneClientOptions,
  state: { version: string | undefined; snapshot: Snapshot | undefined },
): Promise<DiscoverRequest> {
  const { version, nonce } = response;
  const nack = (reason: string) => {
    options.onEvent?.({ type: "rejected", version, reason });
    return create(DiscoverRequestSchema, { kind: { case: "nack", value: { version, nonce, reason } } });
  };
  let next: Snapshot;
  let kind: PushInfo["kind"];
  switch (response.kind.case) {
    case "snapshot":
      next = response.kind.value;
      kind = "snapshot";
      break;
    case "endpointDelta":
      // The control plane confirms the version held (it registered with it): nothing to apply.
      if (state.snapshot && version === state.version && isEmptyDelta(response.kind.value))
        return create(DiscoverRequestSchema, { kind: { case: "ack", value: { version, nonce } } });
      if (!state.snapshot) return nack("received an endpoint delta before any snapshot");
      next = applyEndpointDelta(state.snapshot, response.kind.value);
      kind = "delta";
      break;
    default:
      return nack("the push carries neither a snapshot nor an endpoint delta");
  }
  try {
    await options.onSnapshot(next, { version, kind });
  } catch (e) {
    return nack(e instanceof Error ? e.message : String(e));
  }
  state.snapshot = next;
  state.version = version;
  options.onEvent?.({ type: "accepted", version });
  return create(DiscoverRequestSchema, { kind: { case: "ack", value: { version, nonce } } });
}

function isEmptyDelta(delta: EndpointDelta): boolean {
  return delta.updated.length === 0 && delta.removedServices.length === 0;
}
