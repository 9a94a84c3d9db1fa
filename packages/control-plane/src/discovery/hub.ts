import type { Clock, TimerHandle } from "@weft/core";
import type {
  DiscoverResponse,
  MeshConfig,
  ProxyStatus,
  Registration,
  TrafficReport,
} from "@weft/core/model";
import { Registry } from "../registry/registry.ts";
import { MeshView } from "./mesh-view.ts";
import { scopeRequestOf } from "./scope.ts";
import { DataPlaneSession } from "./session.ts";

export interface HubOptions {
  clock: Clock;
  /** How long an endpoint outlives its stream. */
  graceMs: number;
  /** Config changes closer together than this go out as one push. */
  debounceMs: number;
  /** A steady trickle of config changes still goes out at least this often. */
  maxDelayMs: number;
  /**
   * The same for endpoint changes. Longer than for config: after a control-plane restart a
   * thousand data planes register within seconds, and each registration changes the
   * endpoints every caller of that service needs; pushing each would cost N² pushes.
   */
  endpointDebounceMs: number;
  endpointMaxDelayMs: number;
  /** Wall-clock milliseconds, for connected-at times. */
  wallClock: () => number;
  /**
   * After a start, data planes that come back holding a version wait this long before the
   * first push, so the others have time to register again: otherwise the first to return
   * would be told that every endpoint not yet back is gone. New data planes do not wait.
   */
  warmupMs: number;
}

/**
 * The heart of the control plane: the registry, the merged view of config and endpoints,
 * and every connected data plane. Changes are coalesced (debounced) before they fan out,
 * so a burst of registrations or an apply costs one push per data plane, not one per change.
 */
export class DiscoveryHub {
  readonly registry: Registry;
  readonly view: MeshView;
  /** Names this control plane in ProxyStatus (set once it listens). */
  replica = "";
  /** Where data planes' TrafficReports go (the dashboard's ledger); dropped while unset. */
  onTraffic: ((session: DataPlaneSession, report: TrafficReport) => void) | undefined;
  private readonly options: HubOptions;
  private readonly sessions = new Set<DataPlaneSession>();
  private changed = new Set<string>();
  private configChanged = false;
  private timer: TimerHandle | undefined;
  private warmup: TimerHandle | undefined;
  private readonly warming = new Set<DataPlaneSession>();
  private configFirst = 0;
  private configLast = 0;
  private endpointsFirst = 0;
  private endpointsLast = 0;

  constructor(options: HubOptions) {
    this.options = options;
    this.registry = new Registry({
      clock: options.clock,
      graceMs: options.graceMs,
      onChange: (services) => {
        this.view.endpointsChanged(services);
        const now = this.options.clock.now();
        if (this.changed.size === 0) this.endpointsFirst = now;
        this.endpointsLast = now;
        for (const s of services) this.changed.add(s);
        this.schedule();
      },
    });
    this.view = new MeshView(this.registry);
    if (options.warmupMs > 0)
      this.warmup = options.clock.setTimeout(() => this.finishWarmup(), options.warmupMs);
  }

  /**
   * Ends the warm-up now: the registry is known to be whole (a shared store fed it the
   * registrations other replicas hold), so the data planes waiting for it are served.
   */
  endWarmup(): void {
    if (this.warmup === undefined) return;
    this.options.clock.clearTimeout(this.warmup);
    this.finishWarmup();
  }

  private finishWarmup(): void {
    this.warmup = undefined;
    for (const s of this.warming) if (this.sessions.has(s)) s.start();
    this.warming.clear();
  }

  setConfig(revision: number, config: MeshConfig): void {
    this.view.setConfig(revision, config);
    const now = this.options.clock.now();
    if (!this.configChanged) this.configFirst = now;
    this.configLast = now;
    this.configChanged = true;
    this.schedule();
  }

  /** A data plane registered on a stream; `send` writes to that stream. */
  open(registration: Registration, send: (response: DiscoverResponse) => void): DataPlaneSession {
    const scope = scopeRequestOf(registration);
    const session = new DataPlaneSession(registration, scope, this.view, send, this.options.wallClock());
    this.view.acquire(scope);
    this.sessions.add(session);
    session.leaseKey = this.registry.register(registration, session);
    session.openedAt = this.options.clock.now();
    if (this.warmup !== undefined && registration.lastVersion !== "") {
      session.ackedVersion = registration.lastVersion;
      this.warming.add(session);
    } else session.start();
    return session;
  }

  /** The session's stream ended: its lease starts running out. */
  close(session: DataPlaneSession): void {
    if (!this.sessions.delete(session)) return;
    this.warming.delete(session);
    this.registry.release(session.leaseKey, session);
    this.view.release(session.scope);
  }

  proxies(): ProxyStatus[] {
    return [...this.sessions].map((s) => s.status(this.replica));
  }

  /** The version each connected data plane ACKed last ("" before its first ACK); cheap to poll. */
  ackedVersions(): string[] {
    return [...this.sessions].map((s) => s.ackedVersion);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sends what is pending now instead of waiting for the debounce. */
  flush(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const all = this.configChanged;
    const changed = this.changed;
    this.configChanged = false;
    this.changed = new Set();
    for (const s of this.sessions)
      if (!this.warming.has(s) && (all || this.view.touches(s.scope, changed))) s.update();
  }

  shutdown(): void {
    if (this.warmup !== undefined) this.options.clock.clearTimeout(this.warmup);
    this.warmup = undefined;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.registry.close();
  }

  private schedule() {
    const o = this.options;
    let due = Number.POSITIVE_INFINITY;
    if (this.configChanged)
      due = Math.min(due, this.configLast + o.debounceMs, this.configFirst + o.maxDelayMs);
    if (this.changed.size > 0)
      due = Math.min(
        due,
        this.endpointsLast + o.endpointDebounceMs,
        this.endpointsFirst + o.endpointMaxDelayMs,
      );
    if (this.timer !== undefined) o.clock.clearTimeout(this.timer);
    this.timer = o.clock.setTimeout(() => this.flush(), Math.max(0, due - o.clock.now()));
  }
}
