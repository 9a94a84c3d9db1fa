import type { Server, Socket } from "node:net";
import { Code } from "@connectrpc/connect";
import type { Place } from "../../call/call.ts";
import { MeshError } from "../../errors/mesh-error.ts";
import { OverloadMonitor } from "../overload/overload-monitor.ts";

/** Why a connection or request was refused at the door. */
export type Refusal = "listener_connections" | "global_connections" | "overload";

export interface AdmissionOptions {
  /** Connections open at once across every guarded listener of the process. */
  readonly maxConnections?: number;
  /** Sheds requests and connections while it says overloaded; none means never overloaded. */
  readonly overload?: OverloadMonitor;
}

export interface GuardOptions {
  /** Names the listener in refusal reasons and metrics. */
  readonly name: string;
  /** Connections this listener keeps open at once. */
  readonly maxConnections: number;
  /** Called for every connection refused (metrics). */
  readonly onRefused?: (why: Refusal) => void;
}

/** Envoy leaves it unlimited with a warning; a file-descriptor budget most hosts allow. */
export const DEFAULT_GLOBAL_MAX_CONNECTIONS = 16_384;

/**
 * Process-wide admission control (Envoy's global connection limit and overload manager): a
 * global connection count over all guarded listeners, per-listener caps, and request shedding
 * while the heap is near its limit. Over a cap, connections are closed at accept by the kernel
 * handle (net.Server's maxConnections), before any TLS or HTTP work; open connections go on.
 */
export class Admission {
  readonly maxConnections: number;
  readonly overload: OverloadMonitor | undefined;
  /** Refusals so far, for metrics. */
  readonly refused: Record<Refusal, number> = {
    listener_connections: 0,
    global_connections: 0,
    overload: 0,
  };
  /** Requests answered 503 because of overload. */
  shedRequests = 0;
  #connections = 0;
  #open = true;
  readonly #guards = new Set<ListenerGuard>();

  constructor(options: AdmissionOptions = {}) {
    const max = options.maxConnections ?? DEFAULT_GLOBAL_MAX_CONNECTIONS;
    if (!(max >= 0)) throw new RangeError(`admission maxConnections must be >= 0, got ${max}`);
    this.maxConnections = max;
    this.overload = options.overload;
    this.overload?.onChange(() => this.#refresh());
  }

  get connections(): number {
    return this.#connections;
  }

  /** True while requests must be refused (read per request: one field). */
  get shedding(): boolean {
    return this.overload?.overloaded ?? false;
  }

  /** New connections are taken (below the global cap, not overloaded). */
  get admitting(): boolean {
    return this.#open;
  }

  /**
   * Caps, counts and refuses the connections of one listener. Call `guard.add(server)` for each
   * net/tls/http server that accepts for it (several for a port serving two protocols).
   */
  guard(options: GuardOptions): ListenerGuard {
    if (!(options.maxConnections >= 0))
      throw new RangeError(
        `listener ${options.name}: maxConnections must be >= 0, got ${options.maxConnections}`,
      );
    this.overload?.start();
    const guard = new ListenerGuard(this, options);
    this.#guards.add(guard);
    return guard;
  }

  /** The error a request refused for overload carries (HTTP 503, `weft-error` provenance). */
  overloadError(place: Place): MeshError {
    return new MeshError(
      Code.Unavailable,
      this.overload?.reason ?? "overloaded",
      { place, plugin: "overload", policy: "heap" },
      { neverSent: true },
    );
  }

  /** @internal ListenerGuard's bookkeeping. */
  opened(): void {
    this.#connections++;
    this.#refresh();
  }

  /** @internal */
  closed(): void {
    this.#connections--;
    this.#refresh();
  }

  /** @internal */
  refusal(why: Refusal): void {
    this.refused[why]++;
  }

  /** @internal A guard whose servers have all closed. */
  release(guard: ListenerGuard): void {
    this.#guards.delete(guard);
  }

  /** @internal */
  whyClosed(): Refusal {
    return this.shedding ? "overload" : "global_connections";
  }

  #refresh(): void {
    const open = this.#connections < this.maxConnections && !this.shedding;
    if (open === this.#open) return;
    this.#open = open;
    for (const g of this.#guards) g.refresh();
  }
}

/** One listener's share of the admission: its cap, its count, the servers that feed it. */
export class ListenerGuard {
  readonly name: string;
  readonly maxConnections: number;
  #connections = 0;
  readonly #admission: Admission;
  readonly #servers = new Set<Server>();
  readonly #onRefused: ((why: Refusal) => void) | undefined;

  constructor(admission: Admission, options: GuardOptions) {
    this.#admission = admission;
    this.name = options.name;
    this.maxConnections = options.maxConnections;
    this.#onRefused = options.onRefused;
  }

  get connections(): number {
    return this.#connections;
  }

  add(server: Server): void {
    this.#capAtAccept(server);
    // Sockets handed over with emit("connection") (a port sniffing TLS from plaintext) skip
    // maxConnections: they are counted here and cut just after the server set them up.
    server.on("connection", (socket: Socket) => {
      if (this.#connections >= this.maxConnections || !this.#admission.admitting) {
        this.#refuse(
          this.#connections >= this.maxConnections ? "listener_connections" : this.#admission.whyClosed(),
        );
        socket.destroy();
        return;
      }
      this.#connections++;
      this.#admission.opened();
      socket.once("close", () => {
        this.#connections--;
        this.#admission.closed();
      });
    });
  }

  /**
   * A server that only accepts and hands its sockets to the guard's other servers (a port
   * sniffing TLS from plaintext): capped at accept like them, so sockets that never send
   * their first byte cannot pile up, but counted only once handed over.
   */
  addFront(server: Server): void {
    this.#capAtAccept(server);
  }

  #capAtAccept(server: Server): void {
    this.#servers.add(server);
    server.maxConnections = this.#limit();
    // A bound server refuses at accept (maxConnections) and says so with "drop".
    server.on("drop", () =>
      this.#refuse(this.#admission.admitting ? "listener_connections" : this.#admission.whyClosed()),
    );
    server.once("close", () => {
      this.#servers.delete(server);
      if (this.#servers.size === 0) this.#admission.release(this);
    });
  }

  /** @internal Admission calls it when the process starts or stops admitting. */
  refresh(): void {
    const limit = this.#limit();
    for (const s of this.#servers) s.maxConnections = limit;
  }

  #limit(): number {
    // 0 makes Node close every new connection at accept; the per-listener cap otherwise.
    return this.#admission.admitting ? this.maxConnections : 0;
  }

  #refuse(why: Refusal): void {
    this.#admission.refusal(why);
    this.#onRefused?.(why);
  }
}

let processWide: Admission | undefined;

/**
 * The admission every mesh server and sidecar listener of this process shares unless given
 * their own: the global cap and shedding at 90% of the V8 heap limit. Made on first use.
 */
export function processAdmission(): Admission {
  processWide ??= new Admission({ overload: new OverloadMonitor() });
  return processWide;
}
