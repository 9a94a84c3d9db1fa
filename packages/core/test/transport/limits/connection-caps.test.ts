import { type ClientHttp2Session, constants, connect as h2connect, type ServerHttp2Stream } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/clock/fake-clock.ts";
import { reportHardening } from "../../../src/testing/hardening-report.ts";
import {
  H2cTransport,
  type MeshServer,
  MtlsH2Transport,
  type ServerHandlers,
  type ServerLimits,
} from "../../../src/transport/index.ts";
import { Admission } from "../../../src/transport/limits/admission.ts";
import { OverloadMonitor } from "../../../src/transport/overload/overload-monitor.ts";
import { createCa, issueLeaf, SERVER_ID } from "../certs.ts";
import { until } from "../harness.ts";
import { CONTINUATION, frame, GOAWAY, HEADERS, RawH2 } from "./raw-h2.ts";

// Core's mesh server (the in-process server, and the sidecar's inbound port) under connection
// floods, overload and idle peers. Caps are tiny so each test opens a handful of sockets.

const served: string[] = [];
const handlers: ServerHandlers = {
  request(stream: ServerHttp2Stream, headers) {
    served.push(String(headers[":path"]));
    stream.resume();
    stream.respond({ ":status": 200 });
    stream.end("ok");
  },
  tunnel(tunnel) {
    tunnel.accept().resume();
  },
};

const servers: MeshServer[] = [];
const raws: RawH2[] = [];
const sessions: ClientHttp2Session[] = [];

async function serve(limits: Partial<ServerLimits>): Promise<MeshServer> {
  const s = await new H2cTransport().listen({ port: 0, limits }, handlers);
  servers.push(s);
  return s;
}

async function raw(server: MeshServer): Promise<RawH2> {
  const r = await RawH2.open(server.port);
  raws.push(r);
  return r;
}

/** A well-behaved client: one session, opened before any attack. */
async function goodClient(server: MeshServer): Promise<ClientHttp2Session> {
  const s = h2connect(`http://127.0.0.1:${server.port}`);
  sessions.push(s);
  s.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("error", reject);
  });
  return s;
}

function get(
  s: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = s.request({ ":path": path, ...headers });
    let head: Record<string, unknown> = {};
    let body = "";
    req.on("response", (h) => {
      head = h;
    });
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () =>
      resolve({ status: Number(head[":status"]), headers: head, body, ms: performance.now() - started }),
    );
    req.on("error", reject);
    req.end();
  });
}

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  for (const s of sessions.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("connection caps on core's mesh server", () => {
  it("closes connections over the listener's cap at accept, counts them, and serves the clients it has", async () => {
    const admission = new Admission({ maxConnections: 100 });
    const server = await serve({ maxConnections: 3, admission });
    const good = await goodClient(server);
    expect((await get(good, "/before")).status).toBe(200);
    await raw(server);
    await raw(server);
    await until(() => admission.connections === 3, 2_000);
    const flood: RawH2[] = [];
    for (let i = 0; i < 5; i++) flood.push(await raw(server));
    await until(() => flood.every((r) => r.closed), 1_000);
    expect(admission.refused.listener_connections).toBe(5);
    expect(flood.every((r) => r.frames.length === 0)).toBe(true); // closed before any HTTP/2 work
    expect((await get(good, "/during")).status).toBe(200);
    // A slot frees when a connection closes.
    raws[0]?.destroy();
    await until(() => admission.connections === 2, 2_000);
    const late = await raw(server);
    await until(() => late.frames.length > 0, 2_000);
    expect(late.closed).toBe(false);
    for (const r of flood)
      reportHardening({
        class: "connection-flood",
        case: "connection over the listener cap (h2c mesh server)",
        refused: r.closed,
        reachedApp: false,
      });
  });

  it("shares one global cap across listeners", async () => {
    const admission = new Admission({ maxConnections: 3 });
    const a = await serve({ maxConnections: 10, admission });
    const b = await serve({ maxConnections: 10, admission });
    const good = await goodClient(a);
    await raw(a);
    await raw(b);
    await until(() => admission.connections === 3, 2_000);
    const overA = await raw(a);
    const overB = await raw(b);
    await until(() => overA.closed && overB.closed, 1_000);
    expect(admission.refused.global_connections).toBe(2);
    expect((await get(good, "/still")).status).toBe(200);
    raws[0]?.destroy();
    await until(() => admission.connections === 2 && admission.admitting, 2_000);
    const again = await raw(b);
    await until(() => again.frames.length > 0, 2_000);
    expect(again.closed).toBe(false);
  });
});

describe("connection caps on the mTLS mesh server", () => {
  it("caps strict and permissive ports alike (permissive hands sockets over after sniffing)", async () => {
    const ca = await createCa("weft mesh CA");
    const transport = new MtlsH2Transport(await issueLeaf(ca, SERVER_ID));
    for (const mode of ["strict", "permissive"] as const) {
      const admission = new Admission({ maxConnections: 100 });
      const server = await transport.listen(
        { port: 0, mode, limits: { maxConnections: 2, admission } },
        handlers,
      );
      servers.push(server);
      // Held connections: strict ones wait in their TLS handshake, permissive ones speak h2c.
      for (let i = 0; i < 2; i++) raws.push(await RawH2.open(server.port, mode === "permissive"));
      await until(() => admission.connections === 2, 2_000);
      const over = await raw(server);
      await until(() => over.closed, 2_000);
      expect(admission.refused.listener_connections).toBe(1);
      expect(over.frames).toEqual([]);
      reportHardening({
        class: "connection-flood",
        case: `connection over the listener cap (mTLS mesh server, ${mode})`,
        refused: over.closed,
        reachedApp: false,
      });
    }
  });
});

describe("sniffing on a permissive port", () => {
  it("caps sockets that never send their first byte at accept, like any other", async () => {
    const ca = await createCa("weft mesh CA");
    const transport = new MtlsH2Transport(await issueLeaf(ca, SERVER_ID));
    const admission = new Admission({ maxConnections: 100 });
    const server = await transport.listen(
      { port: 0, mode: "permissive", limits: { maxConnections: 2, admission } },
      handlers,
    );
    servers.push(server);
    // Silent sockets stay in the sniff until the handshake timeout (10 s): uncapped, a peer
    // could hold any number of them.
    const silent = await Promise.all(Array.from({ length: 6 }, () => openSilent(server.port)));
    await until(() => silent.filter((s) => s.closed).length === 4, 2_000);
    expect(admission.refused.listener_connections).toBe(4);
    for (const s of silent)
      reportHardening({
        class: "connection-flood",
        case: "silent connection over the listener cap (permissive port, before the sniff)",
        refused: s.closed,
        reachedApp: false,
      });
    // A slot frees when a silent socket goes away, and a client that speaks is served.
    for (const s of silent) s.socket.destroy();
    await until(() => silent.every((s) => s.closed), 2_000);
    const late = await raw(server);
    await until(() => late.frames.length > 0, 2_000);
    expect(late.closed).toBe(false);
  });
});

describe("overload shedding on core's mesh server", () => {
  it("answers 503 with weft-error while the heap is over the line, refuses new connections, and recovers", async () => {
    let fraction = 0.5;
    const monitor = new OverloadMonitor({
      read: () => ({ used: fraction * 2 ** 30, limit: 2 ** 30 }),
      clock: new FakeClock(),
    });
    const admission = new Admission({ maxConnections: 100, overload: monitor });
    const server = await serve({ admission, place: "sidecar-inbound" });
    const good = await goodClient(server);
    expect((await get(good, "/a")).status).toBe(200);

    fraction = 0.95;
    monitor.check();
    const before = served.length;
    const shed = await get(good, "/shed");
    expect(shed.status).toBe(503);
    expect(String(shed.headers["weft-error"])).toContain("plugin=overload");
    expect(String(shed.headers["weft-error"])).toContain("place=sidecar-inbound");
    expect(shed.body).toContain("heap 95% of 1024 MB used");
    const grpc = await get(good, "/pkg.Svc/M", { "content-type": "application/grpc" });
    expect(grpc.status).toBe(200);
    expect(grpc.headers["grpc-status"]).toBe("14");
    expect(served.length).toBe(before); // nothing reached the handler
    const refused = await raw(server);
    await until(() => refused.closed, 1_000);
    expect(admission.refused.overload).toBe(1);
    expect(admission.shedRequests).toBe(2);
    reportHardening({
      class: "overload",
      case: "request while heap over shed line",
      refused: true,
      reachedApp: false,
    });
    reportHardening({
      class: "overload",
      case: "connection while heap over shed line",
      refused: true,
      reachedApp: false,
    });

    fraction = 0.87; // above recoverBelow: still shedding
    monitor.check();
    expect((await get(good, "/b")).status).toBe(503);
    fraction = 0.6;
    monitor.check();
    expect((await get(good, "/c")).status).toBe(200);
    const accepted = await raw(server);
    await until(() => accepted.frames.length > 0, 2_000);
    expect(accepted.closed).toBe(false);
  });
});

describe("idle timeouts on core's mesh server", () => {
  it("sends GOAWAY to a session idle past sessionIdleTimeoutMs", async () => {
    const server = await serve({ sessionIdleTimeoutMs: 150, admission: new Admission() });
    const r = await raw(server);
    await until(() => r.frames.some((f) => f.type === GOAWAY), 3_000);
    expect(r.goaway).toBe(constants.NGHTTP2_NO_ERROR);
    reportHardening({ class: "idle", case: "idle HTTP/2 session", refused: true, reachedApp: false });
  });

  it("closes a session trickling a request head in CONTINUATION frames, long before the idle timeout", async () => {
    // Not the idle timeout (a minute here): nghttp2 caps CONTINUATION frames per header block
    // (its CVE-2024-27316 fix). This pins that the Node in use still has it.
    const server = await serve({ sessionIdleTimeoutMs: 60_000, admission: new Admission() });
    const r = await raw(server);
    // HEADERS without END_HEADERS, then one header field per CONTINUATION frame, never the end.
    r.send(frame(HEADERS, 0, 1, Buffer.from([0x83, 0x86, 0x84])));
    const trickle = setInterval(
      () => r.send(frame(CONTINUATION, 0, 1, Buffer.from([0x00, 1, 0x78, 1, 0x61]))),
      50,
    );
    try {
      await until(() => r.closed, 3_000);
    } finally {
      clearInterval(trickle);
    }
    expect(served).not.toContain("/");
    reportHardening({
      class: "slowloris",
      case: "HTTP/2 request head trickled in CONTINUATION frames",
      refused: true,
      reachedApp: false,
    });
  });

  it("cancels a CONNECT tunnel idle past tunnelIdleTimeoutMs, and not one in use", async () => {
    const server = await serve({ tunnelIdleTimeoutMs: 300, admission: new Admission() });
    const s = await goodClient(server);
    const open = (authority: string) => {
      const stream = s.request({ ":method": "CONNECT", ":authority": authority });
      stream.on("error", () => {});
      return stream;
    };
    const idle = open("app:1");
    const busy = open("app:2");
    const started = performance.now();
    let idleClosedAt = 0;
    idle.once("close", () => {
      idleClosedAt = performance.now() - started;
    });
    const keepBusy = setInterval(() => busy.write("x"), 50);
    try {
      await until(() => idle.closed, 3_000);
      expect(idle.rstCode).toBe(constants.NGHTTP2_CANCEL);
      expect(idleClosedAt).toBeGreaterThanOrEqual(250);
      expect(busy.closed).toBe(false);
    } finally {
      clearInterval(keepBusy);
    }
    reportHardening({ class: "idle", case: "idle CONNECT tunnel", refused: true, reachedApp: false });
  });
});

/** A TCP connection that sends nothing; `closed` once the server (or the test) ends it. */
async function openSilent(port: number): Promise<{ socket: Socket; closed: boolean }> {
  const socket = netConnect(port, "127.0.0.1");
  const state = { socket, closed: false };
  socket.on("error", () => {});
  socket.once("close", () => {
    state.closed = true;
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return state;
}
