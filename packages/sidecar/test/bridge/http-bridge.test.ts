import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { type FrameCodec, newlineCodec, parseMeshConfig } from "@weft/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Stats } from "../../src/admin/stats.ts";
import { BridgeRoutes } from "../../src/bridge/bridge-routes.ts";
import { HttpBridge } from "../../src/bridge/http-bridge.ts";
import { HttpFront } from "../../src/http/front.ts";
import { UpstreamPool } from "../../src/http/upstream.ts";
import { Listener } from "../../src/listeners/listener.ts";
import { request } from "./http-client.ts";
import { lineServer, reversingFrameServer, tcpServer } from "./tcp-backends.ts";

const config = (ports: Record<string, number>) =>
  parseMeshConfig({
    file: "bridge.yaml",
    text: `apiVersion: weft.dev/v1
kind: Service
metadata: { name: cache, namespace: shop }
spec:
  ports:
    - { name: lines, port: ${ports.lines}, protocol: PROTOCOL_TCP, httpBridge: { framing: FRAMING_CRLF, maxFrameBytes: 64, timeout: 300ms } }
    - { name: frames, port: ${ports.frames}, protocol: PROTOCOL_TCP, httpBridge: { framing: FRAMING_LENGTH_PREFIXED } }
    - { name: custom, port: ${ports.custom}, protocol: PROTOCOL_TCP, httpBridge: { plugin: { module: "./codec.js", export: "upper", options: { prefix: "Q:" } } } }
    - { name: broken, port: ${ports.broken}, protocol: PROTOCOL_TCP, httpBridge: { plugin: { module: "./codec.js", export: "broken" } } }
    - { name: down, port: ${ports.down}, protocol: PROTOCOL_TCP, httpBridge: { framing: FRAMING_NEWLINE } }
    - { name: web, port: 8080, protocol: PROTOCOL_HTTP1 }
`,
  });

/** A user's codec module: a factory taking the ref's options (lines sent with a prefix), and a buggy codec. */
const codecModule = {
  broken: {
    name: "broken",
    encode: (req: Uint8Array) => {
      if (req.length === 0) throw new TypeError("cannot read properties of undefined");
      return req;
    },
    createDecoder: () => ({
      buffered: 0,
      push() {
        throw new RangeError("offset out of range");
      },
      next: () => undefined,
      end: () => undefined,
    }),
  },
  upper: (o: { prefix: string; maxFrameBytes: number }): FrameCodec => {
    const lines = newlineCodec({ maxFrameBytes: o.maxFrameBytes });
    return {
      name: "prefixed-lines",
      encode: (req) => lines.encode(new TextEncoder().encode(`${o.prefix}${new TextDecoder().decode(req)}`)),
      createDecoder: () => lines.createDecoder(),
    };
  },
};

// HTTP client -> listener + front (bridge) -> TCP straight to the backend (the mesh hop is the other test's).
describe("the HTTP-to-TCP bridge on a sidecar front", () => {
  const stats = new Stats();
  const pool = new UpstreamPool();
  const passedOn: string[] = [];
  let servers: Awaited<ReturnType<typeof tcpServer>>[] = [];
  let port = 0;
  let listener: Listener;
  let front: HttpFront;
  let opened = 0;
  let portsOf: Record<string, number> = {};

  beforeAll(async () => {
    const lines = await lineServer();
    const frames = await reversingFrameServer();
    const custom = await lineServer();
    const down = await tcpServer(() => {});
    await down.close();
    const broken = await lineServer();
    servers = [lines, frames, custom, broken];
    // Service ports are where the backends listen, so the test's tunnel is a plain TCP connect.
    const ports = {
      lines: lines.port,
      frames: frames.port,
      custom: custom.port,
      broken: broken.port,
      down: down.port,
    };
    const bridge = new HttpBridge(async (upstream, authority, signal) => {
      expect(upstream).toMatchObject({ protocol: "mesh", service: "cache", namespace: "shop" });
      opened++;
      const socket = net.connect({ host: "127.0.0.1", port: Number(authority.split(":")[1]), signal });
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      return socket;
    }, stats);
    bridge.routes = await BridgeRoutes.fromConfig(config(ports), "shop", async (m) => {
      expect(m).toBe("./codec.js");
      return codecModule;
    });
    front = new HttpFront({
      place: "sidecar-outbound",
      pool,
      resolve: () => {
        throw new Error("unused");
      },
      stats,
      handler: (inFlight) =>
        bridge.handler((req, res) => {
          passedOn.push(String(req.headers.host));
          res.end("proxied");
        }, inFlight),
    });
    listener = new Listener({
      name: "t",
      place: "sidecar-outbound",
      host: "127.0.0.1",
      port: 0,
      front,
      sniffMs: 100,
      stats,
    });
    port = await listener.listen();
    portsOf = ports;
  });

  afterAll(async () => {
    await listener.close();
    front.close();
    pool.close();
    for (const s of servers) await s.close();
  });

  const post = async (hostPort: string, body: string | Uint8Array, method = "POST") => {
    const res = await request(port, hostPort, body, method);
    return {
      status: res.status,
      body: res.body.toString(),
      error: (res.headers["weft-error"] as string | undefined) ?? null,
    };
  };

  it("a line protocol: one request line, one response line; \\r\\n framing both ways", async () => {
    expect(await post(`cache:${portsOf.lines}`, "PING")).toEqual({ status: 200, body: "PONG", error: null });
    // A trailing newline in the body is the frame's own; the namespace and .svc suffixes resolve.
    expect((await post(`cache.shop.svc.cluster.local:${portsOf.lines}`, "hello\n")).body).toBe("ECHO hello");
  });

  it("concurrent requests each get their own connection and their own answer", async () => {
    const before = opened;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(`cache.shop:${portsOf.lines}`, `n${i}`)),
    );
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 20 }, (_, i) => `ECHO n${i}`));
    expect(opened - before).toBe(20);
    await expect.poll(() => servers[0]?.connections()).toBe(0);
  });

  it("length-prefixed frames, binary safe", async () => {
    const res = await request(port, `cache.shop:${portsOf.frames}`, new Uint8Array([0, 1, 2, 10, 13, 255]));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/octet-stream");
    expect([...res.body]).toEqual([255, 13, 10, 2, 1, 0]);
  });

  it("a plugin's codec, made from the ref's options", async () => {
    expect((await post(`cache.shop:${portsOf.custom}`, "hi")).body).toBe("ECHO Q:hi");
  });

  it("over HTTP/2 too (:authority names the port)", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/",
        ":authority": `cache.shop:${portsOf.lines}`,
      });
      stream.end("PING");
      const chunks: Buffer[] = [];
      const status = await new Promise<number>((r) =>
        stream.once("response", (h) => r(Number(h[":status"]))),
      );
      for await (const c of stream) chunks.push(c as Buffer);
      expect([status, Buffer.concat(chunks).toString()]).toEqual([200, "PONG"]);
    } finally {
      session.destroy();
    }
  });

  it("requests for other authorities go on to the proxy", async () => {
    expect((await post("cache.shop:8080", "x")).body).toBe("proxied");
    expect((await post("cache.shop", "x")).body).toBe("proxied");
    expect(passedOn).toEqual(["cache.shop:8080", "cache.shop"]);
  });

  it.each([
    [
      "a body over the frame limit: 413",
      "lines",
      "x".repeat(65),
      "POST",
      413,
      "request body of 65 bytes exceeds the 64-byte frame limit of cache.shop:",
    ],
    [
      "a body that would be two lines: 400",
      "lines",
      "a\nb",
      "POST",
      400,
      "request body cannot be sent to cache.shop:",
    ],
    [
      "a response frame over the limit: 502",
      "lines",
      "BIG",
      "POST",
      502,
      "bad response frame from cache.shop:",
    ],
    ["the backend closes without answering: 502", "lines", "BYE", "POST", 502, "cache.shop:"],
    ["the backend is down: 502", "down", "PING", "POST", 502, "cannot reach cache.shop:"],
    ["not a POST: 405", "lines", "", "GET", 405, "cache.shop:"],
    [
      "a user codec that throws on encode: 400",
      "broken",
      "",
      "POST",
      400,
      "request body cannot be sent to cache.shop:",
    ],
    [
      "a user decoder that throws: 502, and the sidecar lives on",
      "broken",
      "PING\n",
      "POST",
      502,
      "bad response frame from cache.shop:",
    ],
  ])("%s", async (_name, portName, body, method, status, reason) => {
    const res = await post(`cache.shop:${portsOf[portName]}`, body, method);
    expect(res.status).toBe(status);
    expect(res.error?.startsWith(reason)).toBe(true);
    expect(res.body).toBe(`${res.error}\n`);
  });

  it("no answer within the port's timeout: 504 after about 300 ms", async () => {
    const started = performance.now();
    const res = await post(`cache.shop:${portsOf.lines}`, "SLOW");
    const took = performance.now() - started;
    expect(res.status).toBe(504);
    expect(res.error).toBe(`no response frame from cache.shop:${portsOf.lines} within 300 ms`);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
  });

  it("a body that never ends: 504 at the port's timeout", async () => {
    const res = await new Promise<{ status: number; error: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/",
          headers: { host: `cache.shop:${portsOf.lines}`, "content-length": "10" },
        },
        (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, error: String(r.headers["weft-error"]) });
          req.destroy();
        },
      );
      req.once("error", reject);
      req.write("PI");
    });
    expect(res).toEqual({
      status: 504,
      error: `no response frame from cache.shop:${portsOf.lines} within 300 ms`,
    });
  });

  it("counts requests by result", async () => {
    const count = (result: string) =>
      stats.get("weft_sidecar_bridge_requests_total", { place: "sidecar-outbound", result });
    await expect.poll(() => count("504")).toBe(2);
    expect(count("ok")).toBe(25);
    expect(count("413")).toBe(1);
  });
});

describe("BridgeRoutes.fromConfig", () => {
  it("a codec export that is not one fails the config, naming the port", async () => {
    const c = parseMeshConfig({
      file: "b.yaml",
      text: `apiVersion: weft.dev/v1
kind: Service
metadata: { name: cache, namespace: shop }
spec:
  ports: [{ name: x, port: 7000, protocol: PROTOCOL_TCP, httpBridge: { plugin: { module: m } } }]
`,
    });
    await expect(BridgeRoutes.fromConfig(c, "shop", async () => ({ default: 42 }))).rejects.toThrow(
      'service cache.shop port 7000 http_bridge: export "default" of m is not a FrameCodec',
    );
  });

  it("http_bridge on a port that is not TCP is a config error", () => {
    expect(() =>
      parseMeshConfig({
        file: "b.yaml",
        text: `apiVersion: weft.dev/v1
kind: Service
metadata: { name: cache, namespace: shop }
spec:
  ports: [{ name: x, port: 7000, protocol: PROTOCOL_HTTP1, httpBridge: { framing: FRAMING_NEWLINE } }]
`,
      }),
    ).toThrow("http_bridge is only for PROTOCOL_TCP ports");
  });
});
