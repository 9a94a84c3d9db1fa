import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type DiscoverRequest,
  type DiscoverResponse,
  DiscoverResponseSchema,
  EndpointDeltaSchema,
  type ProxyStatus,
  ProxyStatusSchema,
  type Registration,
} from "@weft/core/model";
import type { MeshView, ScopeState } from "./mesh-view.ts";
import type { ScopeRequest } from "./scope.ts";

interface Held {
  hash: string;
  configHash: string;
  endpointHashes: ReadonlyMap<string, string>;
}

let nonceCounter = 0;

/**
 * One data plane's discovery stream, xDS style: at most one push awaits an answer at a
 * time, so a slow data plane gets the latest state once it answers, never a backlog;
 * an endpoint-only change goes out as a delta against what it ACKed, anything else as a
 * full snapshot; a NACKed state is not sent again.
 */
export class DataPlaneSession {
  readonly registration: Registration;
  readonly scope: ScopeRequest;
  readonly connectedAtMs: number;
  leaseKey = "";
  /** Clock time the stream registered: its first TrafficReport counts from then. */
  openedAt = 0;
  ackedVersion = "";
  nackedVersion = "";
  nackReason = "";
  private readonly view: MeshView;
  private readonly send: (response: DiscoverResponse) => void;
  private held: Held | undefined;
  private inflight: { nonce: string; version: string; state: ScopeState } | undefined;
  private rejectedHash: string | undefined;
  private pending = false;

  constructor(
    registration: Registration,
    scope: ScopeRequest,
    view: MeshView,
    send: (response: DiscoverResponse) => void,
    connectedAtMs: number,
  ) {
    this.registration = registration;
    this.scope = scope;
    this.view = view;
    this.send = send;
    this.connectedAtMs = connectedAtMs;
  }

  /** First push; skipped when the data plane already holds the current state. */
  start(): void {
    const last = this.registration.lastVersion;
    const state = this.view.state(this.scope);
    if (last !== "" && last.slice(last.indexOf("-") + 1) === state.hash) {
      // It holds what it should: confirm with an empty delta of its own version, so it
      // knows it is connected, instead of resending the snapshot.
      const nonce = (++nonceCounter).toString(36);
      this.inflight = { nonce, version: last, state };
      this.send(
        create(DiscoverResponseSchema, {
          version: last,
          nonce,
          kind: { case: "endpointDelta", value: create(EndpointDeltaSchema) },
        }),
      );
      return;
    }
    this.push();
  }

  /** The mesh changed in a way that may concern this data plane. */
  update(): void {
    if (this.inflight) this.pending = true;
    else this.push();
  }

  receive(request: DiscoverRequest): void {
    const kind = request.kind;
    if (kind.case !== "ack" && kind.case !== "nack") return;
    const inflight = this.inflight;
    // An answer to an older push (or a made-up nonce) says nothing about the current one.
    if (!inflight || kind.value.nonce !== inflight.nonce) return;
    this.inflight = undefined;
    if (kind.case === "ack") {
      this.held = inflight.state;
      this.ackedVersion = inflight.version;
      this.nackedVersion = "";
      this.nackReason = "";
    } else {
      this.rejectedHash = inflight.state.hash;
      this.nackedVersion = inflight.version;
      this.nackReason = kind.value.reason || "(no reason given)";
    }
    if (this.pending) {
      this.pending = false;
      this.push();
    }
  }

  status(replica: string): ProxyStatus {
    const r = this.registration;
    const s = create(ProxyStatusSchema, {
      service: r.service,
      namespace: this.scope.namespace,
      instanceId: r.instanceId,
      mode: r.mode,
      ackedVersion: this.ackedVersion,
      nackedVersion: this.nackedVersion,
      nackReason: this.nackReason,
      connectedAt: timestampFromMs(this.connectedAtMs),
      controlPlaneReplica: replica,
    });
    if (r.certificateExpiry) s.certificateExpiry = r.certificateExpiry;
    return s;
  }

  private push(): void {
    const state = this.view.state(this.scope);
    if (this.held?.hash === state.hash || this.rejectedHash === state.hash) return;
    const nonce = (++nonceCounter).toString(36);
    const held = this.held;
    const response = create(DiscoverResponseSchema, {
      version: state.version,
      nonce,
      kind:
        held && held.configHash === state.configHash
          ? { case: "endpointDelta", value: state.delta(held.endpointHashes) }
          : { case: "snapshot", value: state.snapshot() },
    });
    this.inflight = { nonce, version: state.version, state };
    this.send(response);
  }
}
