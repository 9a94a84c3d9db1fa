import http from "node:http";
import net from "node:net";
import { Admission, type HeapReading, OverloadMonitor } from "@weft/core/transport";
import { Stats } from "../../src/admin/stats.ts";
import { HttpFront } from "../../src/http/front.ts";
import type { SidecarLimits } from "../../src/http/limits.ts";
import type { Resolve } from "../../src/http/proxy.ts";
import { UpstreamPool } from "../../src/http/upstream.ts";
import { Listener, type StreamHandler } from "../../src/listeners/listener.ts";

export { Admission, OverloadMonitor };

/** A heap whose fill a test sets (a fraction of 1 GiB), for an OverloadMonitor it checks by hand. */
export function fakeHeap(fraction = 0.1) {
  const state = { fraction };
  const monitor = new OverloadMonitor({
    read: (): HeapReading => ({ used: state.fraction * 2 ** 30, limit: 2 ** 30 }),
    // Never started on a timer: the test calls check() after changing the fraction.
    intervalMs: 3_600_000,
  });
  return { state, monitor };
}

/** The sniffing listener and HTTP front of the sidecar's outbound port, with the given limits. */
export async function guardedListener(
  resolve: Resolve,
  o: { limits?: Partial<SidecarLimits>; admission?: Admission; streams?: StreamHandler } = {},
) {
  const stats = new Stats();
  const pool = new UpstreamPool();
  const admission = o.admission ?? new Admission();
  const front = new HttpFront({
    place: "sidecar-outbound",
    pool,
    resolve,
    stats,
    limits: o.limits,
    admission,
  });
  const listener = new Listener({
    name: "outbound",
    place: "sidecar-outbound",
    host: "127.0.0.1",
    port: 0,
    front,
    sniffMs: 100,
    stats,
    streams: o.streams,
    limits: o.limits,
    admission,
  });
  const port = await listener.listen();
  return {
    port,
    stats,
    admission,
    close: async () => {
      await listener.close();
      front.close();
      pool.close();
    },
  };
}

/** A raw TCP client that records what it got and when it was closed. */
export class RawClient {
  readonly socket: net.Socket;
  received = "";
  closedAfterMs: number | undefined;
  readonly #started = performance.now();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (c: string) => {
      this.received += c;
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      this.closedAfterMs = performance.now() - this.#started;
    });
  }

  static async open(port: number): Promise<RawClient> {
    const socket = net.connect(port, "127.0.0.1");
    const c = new RawClient(socket);
    await new Promise<void>((resolve) => {
      socket.once("connect", resolve);
      socket.once("close", resolve);
    });
    return c;
  }

  get closed(): boolean {
    return this.closedAfterMs !== undefined;
  }

  write(text: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One GET on `agent`'s kept-alive connections; resolves with the status and the time it took. */
export function timedGet(
  port: number,
  agent: http.Agent,
  path = "/",
): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent, headers: { host: "app" } }, (res) => {
      res.resume();
      res.once("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.once("error", reject);
  });
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Resolves when `predicate` holds (socket tests: real time), or fails after `ms`. */
export async function until(predicate: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
