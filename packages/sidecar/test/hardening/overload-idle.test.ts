import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { reportHardening } from "@weft/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { recordingApp } from "../helpers.ts";
import { Admission, fakeHeap, guardedListener, RawClient, timedGet, until } from "./setup.ts";

// Overload shedding and the idle timeouts of the sidecar's outbound listener and HTTP front.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function appAndListener(o: Parameters<typeof guardedListener>[1] = {}) {
  const app = await recordingApp();
  const side = await guardedListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }), o);
  cleanups.push(app.close, side.close);
  return { app, side };
}

function h2get(port: number, headers: http2.OutgoingHttpHeaders = {}) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  cleanups.push(() => session.destroy());
  return new Promise<{
    status: number;
    headers: http2.IncomingHttpHeaders;
    session: http2.ClientHttp2Session;
  }>((resolve, reject) => {
    const req = session.request({ ":path": "/h2", ...headers });
    req.on("response", (h) => {
      req.resume();
      req.once("end", () => resolve({ status: Number(h[":status"]), headers: h, session }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("overload shedding at the sidecar front", () => {
  it("answers 503 with weft-error in the caller's protocol and refuses new connections while the heap is over the line", async () => {
    const { state, monitor } = fakeHeap(0.5);
    const admission = new Admission({ maxConnections: 100, overload: monitor });
    const { app, side } = await appAndListener({ admission });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect((await timedGet(side.port, agent, "/a")).status).toBe(200);

    state.fraction = 0.93;
    monitor.check();
    const seen = app.seen.length;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: side.port, path: "/shed", agent, headers: { host: "app" } }, resolve)
        .once("error", reject);
    });
    res.resume();
    expect(res.statusCode).toBe(503);
    expect(String(res.headers["weft-error"])).toContain("plugin=overload");
    expect(String(res.headers["weft-error"])).toContain("place=sidecar-outbound");
    expect(String(res.headers["weft-error"])).toContain(encodeURIComponent("heap 93% of 1024 MB used"));
    const refused = await RawClient.open(side.port);
    await until(() => refused.closed, 1_000);
    expect(refused.received).toBe("");
    expect(app.seen.length).toBe(seen);
    expect(
      side.stats.get("weft_sidecar_refused_total", { place: "sidecar-outbound", reason: "overload" }),
    ).toBe(2);
    expect(side.stats.toJSON()).toMatchObject({
      weft_sidecar_overloaded: 1,
      weft_sidecar_heap_used_ratio: 0.93,
      weft_sidecar_overload_shed_requests: 1,
      weft_sidecar_admission_refused_connections: 1,
    });
    reportHardening({
      class: "overload",
      case: "HTTP/1 request at the sidecar while overloaded",
      refused: true,
      reachedApp: false,
    });
    reportHardening({
      class: "overload",
      case: "new connection to the sidecar while overloaded",
      refused: true,
      reachedApp: false,
    });

    state.fraction = 0.2;
    monitor.check();
    expect((await timedGet(side.port, agent, "/back")).status).toBe(200);
    const fresh = new http.Agent({ keepAlive: false });
    expect((await timedGet(side.port, fresh, "/fresh")).status).toBe(200);
    fresh.destroy();
  });

  it("sheds gRPC over h2c with grpc-status 14 (UNAVAILABLE)", async () => {
    const { state, monitor } = fakeHeap(0.5);
    const { side } = await appAndListener({ admission: new Admission({ overload: monitor }) });
    const ok = await h2get(side.port);
    expect(ok.status).toBe(200);
    state.fraction = 0.99;
    monitor.check();
    const shed = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      const req = ok.session.request({
        ":method": "POST",
        ":path": "/pkg.Svc/M",
        "content-type": "application/grpc",
      });
      req.on("response", resolve);
      req.on("error", reject);
      req.resume();
      req.end();
    });
    expect(shed[":status"]).toBe(200);
    expect(shed["grpc-status"]).toBe("14");
    expect(String(shed["weft-error"])).toContain("plugin=overload");
    reportHardening({
      class: "overload",
      case: "gRPC over h2c at the sidecar while overloaded",
      refused: true,
      reachedApp: false,
    });
  });
});

describe("idle timeouts at the sidecar", () => {
  it("closes an idle keep-alive HTTP/1 connection after keepAliveTimeoutMs", async () => {
    const { side } = await appAndListener({ limits: { keepAliveTimeoutMs: 300 } });
    const c = await RawClient.open(side.port);
    c.write("GET /once HTTP/1.1\r\nHost: app\r\n\r\n");
    await until(() => c.received.includes("echo:"), 2_000);
    await until(() => c.closed, 2_000);
    expect(c.closedAfterMs).toBeGreaterThanOrEqual(300);
    reportHardening({
      class: "idle",
      case: "idle HTTP/1 keep-alive connection",
      refused: true,
      reachedApp: false,
    });
  });

  it("sends GOAWAY to an idle h2c session after h2IdleTimeoutMs", async () => {
    const { side } = await appAndListener({ limits: { h2IdleTimeoutMs: 300 } });
    const { session } = await h2get(side.port);
    const started = performance.now();
    let goawayAfter = 0;
    session.once("goaway", () => {
      goawayAfter = performance.now() - started;
    });
    await until(() => goawayAfter > 0, 3_000);
    expect(goawayAfter).toBeGreaterThanOrEqual(250);
    reportHardening({ class: "idle", case: "idle h2c session", refused: true, reachedApp: false });
  });

  it("cuts an opaque TCP connection idle past tcpIdleTimeoutMs, and not one in use", async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => echo.close(r)));
    const relayed = new Set<net.Socket>();
    const { side } = await appAndListener({
      limits: { tcpIdleTimeoutMs: 300 },
      streams: (socket) => {
        const out = net.connect((echo.address() as AddressInfo).port, "127.0.0.1");
        relayed.add(out);
        socket.pipe(out).pipe(socket);
        socket.once("close", () => out.destroy());
        out.once("close", () => socket.destroy());
      },
    });
    cleanups.push(() => {
      for (const s of relayed) s.destroy();
    });
    const idle = await RawClient.open(side.port);
    const busy = await RawClient.open(side.port);
    idle.write(Buffer.from([0, 1, 2, 3]));
    busy.write(Buffer.from([0, 1, 2, 3]));
    const keep = setInterval(() => busy.write(Buffer.from([4])), 50);
    try {
      await until(() => idle.closed, 3_000);
    } finally {
      clearInterval(keep);
    }
    expect(idle.closedAfterMs).toBeGreaterThanOrEqual(300);
    expect(busy.closed).toBe(false);
    busy.destroy();
    reportHardening({ class: "idle", case: "idle opaque TCP connection", refused: true, reachedApp: false });
  });
});
