import net, { type AddressInfo, type Socket } from "node:net";
import type { Place } from "@weft/core";
import type { Stats } from "../admin/stats.ts";
import type { Detected } from "../detect/classify.ts";
import { sniff } from "../detect/sniff.ts";
import type { HttpFront } from "../http/front.ts";
import { type Admission, resolveSidecarLimits, type SidecarLimits } from "../http/limits.ts";
import { guardListener } from "./guard.ts";

/** Takes a sniffed socket that is not HTTP (TLS, or opaque TCP); its first bytes were put back. */
export type StreamHandler = (socket: Socket, protocol: Exclude<Detected, "http1" | "http2">) => void;

export interface ListenerOptions {
  readonly name: string;
  readonly place: Place;
  readonly host: string;
  readonly port: number;
  readonly front: HttpFront;
  /**
   * How long to wait for a client's first bytes before taking it for a server-first protocol;
   * a function decides per connection (a port known to be client-first waits longer).
   */
  readonly sniffMs: number | ((socket: Socket) => number);
  readonly stats: Stats;
  /** TLS and opaque TCP; without one, such connections are closed and counted. */
  readonly streams?: StreamHandler;
  /** Connection cap and TCP idle timeout (the front takes the HTTP ones); see http/limits.ts. */
  readonly limits?: Partial<SidecarLimits>;
  /** Global connection cap and overload, shared with the process's other listeners. */
  readonly admission?: Admission;
}

/**
 * A TCP listener that sniffs each connection and hands it to the HTTP front or the stream
 * handler. Closing it stops accepting; connections already handed over belong to their handler.
 */
export class Listener {
  readonly options: ListenerOptions;
  readonly #server: net.Server;
  readonly #pending = new Set<Socket>();

  constructor(options: ListenerOptions) {
    this.options = options;
    // Half-open: a client may send its request and shut its side (`nc -N`, shutdown(SHUT_WR))
    // and still read the answer; the HTTP front and the TCP relay end our side when done.
    this.#server = net.createServer({ noDelay: true, pauseOnConnect: false, allowHalfOpen: true }, (socket) =>
      this.#accept(socket),
    );
    guardListener(this.#server, options);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.options.port, this.options.host, () => {
        this.#server.off("error", reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  /**
   * Stops accepting; connections still being sniffed are dropped. Does not wait for the
   * connections already handed over (net.Server's close callback would, and an idle HTTP/2
   * client keeps its session open forever): their handlers drain and end them.
   */
  close(): Promise<void> {
    for (const s of this.#pending) s.destroy();
    this.#server.close();
    return Promise.resolve();
  }

  async #accept(socket: Socket): Promise<void> {
    const { stats, place, name } = this.options;
    this.#pending.add(socket);
    socket.on("error", () => socket.destroy());
    const wait = this.options.sniffMs;
    const { protocol, silent } = await sniff(socket, typeof wait === "number" ? wait : wait(socket));
    this.#pending.delete(socket);
    if (socket.destroyed) return;
    stats.inc("weft_sidecar_connections_total", {
      listener: name,
      protocol: silent ? "tcp_server_first" : protocol,
    });
    if (protocol === "http1" || protocol === "http2") {
      this.options.front.accept(socket, protocol);
      return;
    }
    if (this.options.streams) {
      socket.setTimeout(resolveSidecarLimits(this.options.limits).tcpIdleTimeoutMs, () => socket.destroy());
      this.options.streams(socket, protocol);
      return;
    }
    stats.inc("weft_sidecar_refused_total", { place, reason: `no_${protocol}_handler` });
    socket.destroy();
  }
}
