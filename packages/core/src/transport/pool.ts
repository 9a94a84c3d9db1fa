import type { ClientHttp2Session } from "node:http2";
import type { Duplex } from "node:stream";
import { Code } from "@connectrpc/connect";
import type { Place } from "../call/call.ts";
import { type Clock, systemClock, type TimerHandle } from "../clock/clock.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { type BackoffOptions, backoffDelay, defaultBackoff } from "./backoff.ts";
import type { CallWatch } from "./call-watch.ts";
import { ConnectError } from "./connect-error.ts";
import { describe } from "./socket-connect.ts";
import { connectFailure, provenance } from "./stream-errors.ts";
import type { Transport } from "./transport.ts";

/** Where the pool connects: an EndpointRef (key `address:port`, identity) fits. */
export interface PoolEndpoint {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** SPIFFE ID the endpoint must present; empty or absent when the caller says otherwise. */
  readonly identity?: string;
}

export interface KeepaliveOptions {
  /** A PING is sent on every session this often. */
  readonly intervalMs: number;
  /** A PING unanswered this long means the session is dead: it is destroyed. */
  readonly timeoutMs: number;
}

export interface PoolOptions {
  readonly transport: Transport;
  /** Where the pool's failures are attributed: "client" (in-process) or "sidecar-outbound". */
  readonly place: Place;
  readonly clock?: Clock;
  /** Bound on TCP + TLS + the server's first SETTINGS. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Default 30 s interval, 10 s timeout; false turns keepalive off. */
  readonly keepalive?: KeepaliveOptions | false;
  readonly backoff?: BackoffOptions;
  /** Sessions per endpoint before a stream waits for a free slot. Default 16. */
  readonly maxSessionsPerEndpoint?: number;
}

/** One HTTP/2 session of the pool and its bookkeeping. */
export class PooledSession {
  readonly session: ClientHttp2Session;
  readonly peerId: string | undefined;
  /** Streams open on it now. */
  active = 0;
  /** False once GOAWAY arrived, the session failed or is draining: no new streams. */
  open = true;
  /** Last stream id of the GOAWAY received; streams above it were never processed. */
  goawayLastStreamId: number | undefined;
  keepalive: TimerHandle | undefined;

  constructor(session: ClientHttp2Session, peerId: string | undefined) {
    this.session = session;
    this.peerId = peerId;
  }

  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (Node reports 2^32-1 when it set none). */
  get capacity(): number {
    return this.session.remoteSettings.maxConcurrentStreams ?? 100;
  }
}

interface EndpointPool {
  readonly key: string;
  readonly sessions: PooledSession[];
  connecting: Promise<void> | undefined;
  draining: boolean;
  drained: Promise<void> | undefined;
  onDrained: (() => void) | undefined;
  failures: number;
  retryAt: number;
  lastError: unknown;
  waiters: Array<() => void>;
}

export interface PoolStats {
  readonly sessions: number;
  /** Sessions that still take new streams (not after GOAWAY, failure or drain). */
  readonly open: number;
  readonly activeStreams: number;
  readonly draining: boolean;
}

/**
 * HTTP/2 sessions per endpoint: streams share a session until the server's concurrent-stream
 * limit, then another session is opened. Sessions that received GOAWAY take no new streams
 * and are replaced; dead ones are found by keepalive PINGs; failed connects back off.
 */
export class ConnectionPool {
  readonly #transport: Transport;
  readonly #place: Place;
  readonly #clock: Clock;
  readonly #connectTimeoutMs: number;
  readonly #keepalive: KeepaliveOptions | false;
  readonly #backoff: BackoffOptions;
  readonly #maxSessions: number;
  readonly #pools = new Map<string, EndpointPool>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#transport = options.transport;
    this.#place = options.place;
    this.#clock = options.clock ?? systemClock;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.#keepalive = options.keepalive ?? { intervalMs: 30_000, timeoutMs: 10_000 };
    this.#backoff = options.backoff ?? defaultBackoff;
    this.#maxSessions = options.maxSessionsPerEndpoint ?? 16;
  }

  get place(): Place {
    return this.#place;
  }

  get clock(): Clock {
    return this.#clock;
  }

  /**
   * A session with a free stream slot, its `active` count already taken; `release` it when
   * the stream closes. Rejects with MeshError (neverSent) when no session can be had.
   */
  async acquire(endpoint: PoolEndpoint, expectedIdentity: string | undefined, watch: CallWatch) {
    for (;;) {
      if (watch.reason) throw watch.reason;
      if (this.#closed) throw this.#unavailable("the connection pool is closed");
      const pool = this.#pool(endpoint.key);
      if (pool.draining) throw this.#unavailable(`endpoint ${endpoint.key} is draining`);
      const free = pick(pool);
      if (free) {
        if (expectedIdentity !== undefined && free.peerId !== undefined && free.peerId !== expectedIdentity) {
          throw this.#unavailable(
            `the server at ${endpoint.key} proved ${free.peerId} but ${expectedIdentity} was expected`,
          );
        }
        free.active++;
        return free;
      }
      if (pool.connecting) {
        await watch.race(pool.connecting);
        continue;
      }
      if (liveSessions(pool) < this.#maxSessions) {
        const wait = pool.retryAt - this.#clock.now();
        if (wait > 0) {
          throw connectFailure(
            this.#place,
            endpoint.key,
            new ConnectError(
              "tcp",
              `connect to ${endpoint.key} failed ${pool.failures} time(s) (last: ${describe(pool.lastError)}); next attempt in ${Math.ceil(wait)}ms`,
              pool.lastError,
            ),
          );
        }
        const connecting = this.#open(pool, endpoint, expectedIdentity);
        pool.connecting = connecting.then(
          () => {
            pool.connecting = undefined;
          },
          () => {
            pool.connecting = undefined;
          },
        );
        await watch.race(connecting);
        continue;
      }
      await watch.race(new Promise<void>((resolve) => pool.waiters.push(resolve)));
    }
  }

  /** Gives back the stream slot taken by `acquire`. */
  release(endpointKey: string, session: PooledSession): void {
    session.active--;
    const pool = this.#pools.get(endpointKey);
    pool?.waiters.shift()?.();
  }

  /**
   * Endpoint removed: no new streams to it, each session closes once its in-flight streams
   * are done (none is cut). Resolves when all its sessions are closed.
   */
  drain(endpointKey: string): Promise<void> {
    const pool = this.#pools.get(endpointKey);
    if (!pool) return Promise.resolve();
    if (pool.drained) return pool.drained;
    pool.draining = true;
    pool.drained = new Promise<void>((resolve) => {
      pool.onDrained = resolve;
    });
    for (const waiter of pool.waiters.splice(0)) waiter();
    for (const s of pool.sessions) {
      s.open = false;
      s.session.close();
    }
    this.#checkDrained(pool);
    return pool.drained;
  }

  stats(endpointKey: string): PoolStats | undefined {
    const pool = this.#pools.get(endpointKey);
    if (!pool) return undefined;
    let activeStreams = 0;
    for (const s of pool.sessions) activeStreams += s.active;
    return {
      sessions: pool.sessions.length,
      open: liveSessions(pool),
      activeStreams,
      draining: pool.draining,
    };
  }

  /** Destroys every session now (shutdown, tests); in-flight streams fail. */
  close(): void {
    this.#closed = true;
    for (const pool of this.#pools.values()) {
      for (const waiter of pool.waiters.splice(0)) waiter();
      for (const s of [...pool.sessions]) s.session.destroy();
    }
    this.#pools.clear();
  }

  #pool(key: string): EndpointPool {
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = {
        key,
        sessions: [],
        connecting: undefined,
        draining: false,
        drained: undefined,
        onDrained: undefined,
        failures: 0,
        retryAt: 0,
        lastError: undefined,
        waiters: [],
      };
      this.#pools.set(key, pool);
    }
    return pool;
  }

  async #open(pool: EndpointPool, endpoint: PoolEndpoint, expectedIdentity: string | undefined) {
    const abort = new AbortController();
    const timer = this.#clock.setTimeout(
      () => abort.abort(new Error(`connect timed out after ${this.#connectTimeoutMs}ms`)),
      this.#connectTimeoutMs,
    );
    let session: ClientHttp2Session | undefined;
    try {
      const opened = await this.#transport.connect({
        key: endpoint.key,
        address: endpoint.address,
        port: endpoint.port,
        expectedIdentity,
        signal: abort.signal,
      });
      session = opened.session;
      await firstSettings(session, opened.socket, endpoint.key, abort.signal);
      pool.failures = 0;
      pool.retryAt = 0;
      const pooled = new PooledSession(session, opened.peerId);
      this.#adopt(pool, pooled);
      if (pool.draining || this.#closed) {
        pooled.open = false;
        session.close();
      }
    } catch (err) {
      session?.destroy();
      pool.failures++;
      pool.lastError = err;
      pool.retryAt = this.#clock.now() + backoffDelay(pool.failures, this.#backoff);
      throw connectFailure(this.#place, endpoint.key, err);
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #adopt(pool: EndpointPool, pooled: PooledSession): void {
    const { session } = pooled;
    pool.sessions.push(pooled);
    session.on("error", () => {
      pooled.open = false;
    });
    session.on("goaway", (_code: number, lastStreamId: number) => {
      // Node closes the session itself (gracefully for NO_ERROR): in-flight streams up to
      // lastStreamId finish, the next acquire opens a fresh session.
      pooled.open = false;
      pooled.goawayLastStreamId = lastStreamId;
      for (const waiter of pool.waiters.splice(0)) waiter();
    });
    session.once("close", () => {
      pooled.open = false;
      if (pooled.keepalive !== undefined) this.#clock.clearTimeout(pooled.keepalive);
      const i = pool.sessions.indexOf(pooled);
      if (i >= 0) pool.sessions.splice(i, 1);
      for (const waiter of pool.waiters.splice(0)) waiter();
      this.#checkDrained(pool);
    });
    this.#scheduleKeepalive(pool, pooled);
  }

  #scheduleKeepalive(pool: EndpointPool, pooled: PooledSession): void {
    const keepalive = this.#keepalive;
    if (!keepalive) return;
    pooled.keepalive = this.#clock.setTimeout(() => {
      if (pooled.session.destroyed) return;
      let answered = false;
      const deadline = this.#clock.setTimeout(() => {
        if (answered) return;
        pooled.open = false;
        pooled.session.destroy(
          new Error(`keepalive PING to ${pool.key} unanswered after ${keepalive.timeoutMs}ms`),
        );
      }, keepalive.timeoutMs);
      pooled.keepalive = deadline;
      const sent = pooled.session.ping((err) => {
        answered = true;
        this.#clock.clearTimeout(deadline);
        if (!err && !pooled.session.destroyed) this.#scheduleKeepalive(pool, pooled);
      });
      if (!sent) {
        answered = true;
        this.#clock.clearTimeout(deadline);
        this.#scheduleKeepalive(pool, pooled);
      }
    }, keepalive.intervalMs);
  }

  #checkDrained(pool: EndpointPool): void {
    if (!pool.draining || pool.sessions.length > 0 || pool.connecting) return;
    if (this.#pools.get(pool.key) === pool) this.#pools.delete(pool.key);
    pool.onDrained?.();
  }

  #unavailable(reason: string): MeshError {
    return new MeshError(Code.Unavailable, reason, provenance(this.#place), { neverSent: true });
  }
}

function pick(pool: EndpointPool): PooledSession | undefined {
  for (const s of pool.sessions) {
    if (s.open && !s.session.closed && !s.session.destroyed && s.active < s.capacity) return s;
  }
  return undefined;
}

function liveSessions(pool: EndpointPool): number {
  let n = 0;
  for (const s of pool.sessions) if (s.open) n++;
  return n;
}

/** Resolves when the server's SETTINGS arrive: the connection is an HTTP/2 server that accepted us. */
function firstSettings(
  session: ClientHttp2Session,
  socket: Duplex,
  key: string,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // A TLS alert after the client's handshake finished (TLS 1.3 certificate_required, a
    // rejected chain) surfaces on the socket; the session may be destroyed without 'close'.
    const cleanup = () => {
      session.off("remoteSettings", onSettings);
      session.off("error", onError);
      session.off("close", onClose);
      socket.off("error", onError);
      socket.off("close", onClose);
      signal.removeEventListener("abort", onAbort);
    };
    const onSettings = () => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown) => {
      cleanup();
      const code = (err as { code?: unknown }).code;
      const tls = typeof code === "string" && code.startsWith("ERR_SSL");
      reject(
        new ConnectError(
          tls ? "tls" : "h2",
          `${tls ? "TLS handshake" : "HTTP/2 connection"} with ${key} failed: ${describe(err)}`,
          err,
        ),
      );
    };
    const onClose = () => {
      cleanup();
      reject(
        new ConnectError(
          "tls",
          `${key} closed the connection before its HTTP/2 SETTINGS (it rejected this client's certificate or protocol)`,
        ),
      );
    };
    const onAbort = () => {
      cleanup();
      reject(
        new ConnectError("h2", `no HTTP/2 SETTINGS from ${key}: ${describe(signal.reason)}`, signal.reason),
      );
    };
    session.on("remoteSettings", onSettings);
    session.on("error", onError);
    session.on("close", onClose);
    socket.on("error", onError);
    socket.on("close", onClose);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
