import type { ServerHttp2Session, ServerHttp2Stream } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import {
  H2cTransport,
  type MeshServer,
  type PoolEndpoint,
  TransportClient,
} from "../../src/transport/index.ts";
import { endpointOf, text, until } from "./harness.ts";

/** An h2c server that holds every request until told to answer. */
class HoldingServer {
  readonly held: ServerHttp2Stream[] = [];
  server!: MeshServer;

  async start(maxConcurrentStreams = 100) {
    this.server = await new H2cTransport().listen(
      { port: 0, limits: { maxConcurrentStreams } },
      { request: (stream) => this.held.push(stream) },
    );
    return this;
  }

  /** Answers the held requests with `ok <n>` (n is the position), slowly in chunks. */
  answerAll() {
    for (const [i, stream] of this.held.splice(0).entries()) {
      if (stream.destroyed) continue;
      stream.respond({ ":status": 200 });
      stream.write("ok ");
      setImmediate(() => stream.end(String(i)));
    }
  }

  get endpoint(): PoolEndpoint {
    return endpointOf(this.server);
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newClient(options: Partial<ConstructorParameters<typeof TransportClient>[0]> = {}) {
  const c = new TransportClient({
    transport: new H2cTransport(),
    place: "sidecar-outbound",
    keepalive: false,
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

async function holding(max?: number) {
  const s = await new HoldingServer().start(max);
  cleanups.push(() => s.server.close());
  return s;
}

function get(c: TransportClient, endpoint: PoolEndpoint, path = "/") {
  return c.request(endpoint, { method: "GET", path, authority: "orders" });
}

async function rejection(p: Promise<unknown>): Promise<MeshError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MeshError);
  return err as MeshError;
}

describe("connection pool", () => {
  it("shares one session, and opens a second when the server's max concurrent streams is reached", async () => {
    const s = await holding(2);
    const c = newClient();
    const first = [get(c, s.endpoint), get(c, s.endpoint)];
    await until(() => s.held.length === 2);
    expect(c.stats(s.endpoint.key)).toEqual({ sessions: 1, open: 1, activeStreams: 2, draining: false });
    const third = get(c, s.endpoint);
    await until(() => s.held.length === 3);
    expect(c.stats(s.endpoint.key)).toEqual({ sessions: 2, open: 2, activeStreams: 3, draining: false });
    expect(s.server.sessionCount).toBe(2);
    s.answerAll();
    const bodies = await Promise.all([...first, third].map(async (p) => text(await p)));
    expect(bodies.sort()).toEqual(["ok 0", "ok 1", "ok 2"]);
  });

  it("GOAWAY: in-flight streams finish, new streams go to a new session", async () => {
    const s = await holding();
    const c = newClient();
    const inflight = [get(c, s.endpoint), get(c, s.endpoint)];
    await until(() => s.held.length === 2);
    const serverSession = s.held[0]?.session as ServerHttp2Session;
    serverSession.close(); // graceful GOAWAY: last stream id = highest processed
    // Once the client has seen the GOAWAY, the session takes no new stream but stays for the old ones.
    await until(() => c.stats(s.endpoint.key)?.open === 0);
    expect(c.stats(s.endpoint.key)).toMatchObject({ sessions: 1, activeStreams: 2 });
    const next = get(c, s.endpoint);
    await until(() => s.held.length === 3);
    expect(s.held[2]?.session).not.toBe(serverSession);
    s.answerAll();
    const bodies = await Promise.all([...inflight, next].map(async (p) => text(await p)));
    expect(bodies.sort()).toEqual(["ok 0", "ok 1", "ok 2"]);
  });

  it("GOAWAY: a stream above the last stream id fails as never sent, the ones below finish", async () => {
    const s = await holding();
    const c = newClient();
    const below = get(c, s.endpoint, "/1");
    await until(() => s.held.length === 1);
    const above = get(c, s.endpoint, "/2");
    await until(() => s.held.length === 2);
    const first = s.held[0] as ServerHttp2Stream;
    (first.session as ServerHttp2Session).goaway(0, first.id as number);
    const err = await rejection(above);
    expect(err.neverSent).toBe(true);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.reason).toMatch(/GOAWAY with last stream 1|REFUSED_STREAM/);
    s.answerAll();
    expect(await text(await below)).toBe("ok 0");
  });

  it("drain: refuses new streams at once, lets in-flight ones finish, then closes", async () => {
    const s = await holding();
    const c = newClient();
    const inflight = get(c, s.endpoint);
    await until(() => s.held.length === 1);
    let drained = false;
    const draining = c.drain(s.endpoint.key).then(() => {
      drained = true;
    });
    const refused = await rejection(get(c, s.endpoint));
    expect(refused.neverSent).toBe(true);
    expect(refused.reason).toBe(`endpoint ${s.endpoint.key} is draining`);
    await new Promise((r) => setTimeout(r, 50));
    expect(drained).toBe(false);
    expect(c.stats(s.endpoint.key)?.activeStreams).toBe(1);
    s.answerAll();
    expect(await text(await inflight)).toBe("ok 0");
    await draining;
    expect(c.stats(s.endpoint.key)).toBeUndefined();
    await until(() => s.server.sessionCount === 0);
  });

  it("a refused connection is a MeshError that was never sent; the next attempt backs off", async () => {
    const port = await freePort();
    const c = newClient({ backoff: { baseMs: 60_000, maxMs: 60_000 } });
    const endpoint: PoolEndpoint = { key: `127.0.0.1:${port}`, address: "127.0.0.1", port };
    const err = await rejection(get(c, endpoint));
    expect(err.neverSent).toBe(true);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.reason).toContain("ECONNREFUSED");
    expect(err.provenance).toEqual({ place: "sidecar-outbound", plugin: "transport", policy: "" });
    const again = await rejection(get(c, endpoint));
    expect(again.neverSent).toBe(true);
    expect(again.reason).toMatch(/failed 1 time\(s\).*next attempt in \d+ms/);
  });

  it("a deadline that passes while the server holds the request is DeadlineExceeded, not never-sent", async () => {
    const s = await holding();
    const clock = new FakeClock(1_000);
    const c = newClient({ clock });
    const pending = c.request(s.endpoint, { method: "GET", path: "/", authority: "orders", deadline: 1_500 });
    await until(() => s.held.length === 1);
    await clock.advance(500);
    const err = await rejection(pending);
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.neverSent).toBe(false);
    await until(() => c.stats(s.endpoint.key)?.activeStreams === 0);
  });

  it("a reset after the request was sent is Unavailable and not never-sent", async () => {
    const server = await new H2cTransport().listen(
      { port: 0 },
      { request: (stream) => stream.close(2 /* INTERNAL_ERROR */) },
    );
    cleanups.push(() => server.close());
    const err = await rejection(get(newClient(), endpointOf(server)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.neverSent).toBe(false);
    expect(err.reason).toContain("reset with INTERNAL_ERROR after the request was sent");
  });

  it("keepalive: a peer that stops answering PINGs has its session destroyed", async () => {
    // A "server" that sends its SETTINGS and then never answers anything again.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => {
      sockets.push(socket);
      socket.on("data", () => {});
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          silent.close(() => r());
        }),
    );
    const port = (silent.address() as { port: number }).port;
    const clock = new FakeClock();
    const c = newClient({ clock, keepalive: { intervalMs: 10_000, timeoutMs: 5_000 } });
    const endpoint: PoolEndpoint = { key: `127.0.0.1:${port}`, address: "127.0.0.1", port };
    const pending = c.request(endpoint, { method: "GET", path: "/", authority: "x" });
    await until(() => c.stats(endpoint.key)?.activeStreams === 1);
    await clock.advance(10_000);
    expect(c.stats(endpoint.key)?.sessions).toBe(1);
    await clock.advance(5_000);
    const err = await rejection(pending);
    expect(err.reason).toContain("keepalive PING");
    await until(() => c.stats(endpoint.key)?.sessions === 0);
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
