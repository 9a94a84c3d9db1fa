import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { Duplex } from "node:stream";
import { DatagramChannel } from "@weft/core/transport";
import type { Stats } from "../admin/stats.ts";
import type { MeshUpstream } from "../http/upstream.ts";

export interface UdpListenerOptions {
  readonly host: string;
  readonly port: number;
  /** The mesh service the datagrams are for, and the port of it they are addressed to. */
  readonly upstream: MeshUpstream;
  readonly servicePort: number;
  /** Opens a udp tunnel to the service through the outbound chain. */
  readonly open: (upstream: MeshUpstream, authority: string, signal: AbortSignal) => Promise<Duplex>;
  readonly stats: Stats;
  /** A flow with no datagram either way for this long is closed (its tunnel ends). */
  readonly idleMs: number;
}

/** Datagrams held per flow while its tunnel is being opened; more are dropped, as UDP may. */
const MAX_QUEUED = 64;

interface Flow {
  channel: DatagramChannel | undefined;
  readonly queued: Uint8Array[];
  readonly abort: AbortController;
  /** performance.now() of the last datagram either way. */
  last: number;
}

/**
 * Explicit-mode UDP for one port of a mesh service: the app sends datagrams to this socket;
 * each source address (a "flow") gets its own CONNECT tunnel (protocol udp) through the outbound
 * chain, carrying length-prefixed datagrams, and the replies come back from this socket to that
 * source. A flow idle for `idleMs` is closed, so the tunnels do not outlive their use.
 */
export class UdpListener {
  readonly #o: UdpListenerOptions;
  readonly #socket: Socket;
  readonly #flows = new Map<string, Flow>();
  readonly #authority: string;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: UdpListenerOptions) {
    this.#o = options;
    this.#authority = `${options.upstream.service}.${options.upstream.namespace}:${options.servicePort}`;
    this.#socket = createSocket(options.host.includes(":") ? "udp6" : "udp4");
    this.#socket.on("message", (msg, from) => this.#receive(msg, from));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.once("error", reject);
      this.#socket.bind(this.#o.port, this.#o.host, () => {
        this.#socket.off("error", reject);
        // A send to a vanished client (ICMP unreachable) must not end the listener.
        this.#socket.on("error", () => this.#o.stats.inc("weft_sidecar_udp_errors_total"));
        // One timer for all flows instead of one per datagram.
        this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, this.#o.idleMs / 4));
        this.#sweeper.unref();
        resolve(this.#socket.address().port);
      });
    });
  }

  get flows(): number {
    return this.#flows.size;
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const key of [...this.#flows.keys()]) this.#end(key);
    this.#socket.close();
  }

  #receive(msg: Buffer, from: RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    let flow = this.#flows.get(key);
    if (!flow) flow = this.#start(key, from);
    flow.last = performance.now();
    this.#o.stats.inc("weft_sidecar_udp_datagrams_total", { direction: "outbound" });
    if (flow.channel) flow.channel.send(msg);
    else if (flow.queued.length < MAX_QUEUED) flow.queued.push(msg);
    else this.#o.stats.inc("weft_sidecar_udp_dropped_total", { reason: "tunnel_opening" });
  }

  #start(key: string, from: RemoteInfo): Flow {
    const flow: Flow = { channel: undefined, queued: [], abort: new AbortController(), last: 0 };
    this.#flows.set(key, flow);
    this.#o.stats.inc("weft_sidecar_udp_flows_total");
    this.#o.open(this.#o.upstream, this.#authority, flow.abort.signal).then(
      (stream) => {
        if (this.#flows.get(key) !== flow) {
          stream.destroy();
          return;
        }
        const channel = new DatagramChannel(stream);
        flow.channel = channel;
        channel.on("message", (datagram) => {
          flow.last = performance.now();
          this.#o.stats.inc("weft_sidecar_udp_datagrams_total", { direction: "inbound" });
          this.#socket.send(datagram, from.port, from.address);
        });
        channel.on("error", () => this.#end(key));
        channel.on("close", () => this.#end(key));
        for (const d of flow.queued.splice(0)) channel.send(d);
      },
      () => {
        this.#o.stats.inc("weft_sidecar_udp_dropped_total", { reason: "tunnel_failed" }, flow.queued.length);
        this.#end(key);
      },
    );
    return flow;
  }

  #sweep(): void {
    const idleSince = performance.now() - this.#o.idleMs;
    for (const [key, flow] of this.#flows) if (flow.last < idleSince) this.#end(key);
  }

  #end(key: string): void {
    const flow = this.#flows.get(key);
    if (!flow) return;
    this.#flows.delete(key);
    flow.abort.abort();
    flow.channel?.stream.destroy();
  }
}
