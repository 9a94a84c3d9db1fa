import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMeshPair } from "../bridge/mesh-pair.ts";
import { tcpServer } from "../bridge/tcp-backends.ts";

/** Opens a raw connection, sends a CONNECT head, and resolves with the socket and the response head. */
function connectVia(
  port: number,
  target: string,
): Promise<{ socket: net.Socket; head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      resolve({ socket, head: buf.subarray(0, end).toString("latin1"), rest: buf.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/** Writes `data` and reads until as many bytes came back (or the socket closed). */
function roundTrip(socket: net.Socket | http2.ClientHttp2Stream, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = () => resolve(Buffer.concat(chunks, n));
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= data.length) {
        socket.off("close", done);
        done();
      }
    });
    socket.once("close", done);
    socket.once("error", reject);
    socket.resume();
    socket.write(data);
  });
}

const PORTS = "    - { name: echo, port: 7000, protocol: PROTOCOL_TCP }";

// client --(CONNECT, HTTP/1.1 or HTTP/2)--> caller sidecar --(mTLS HBONE)--> callee sidecar --(TCP)--> echo
describe("HTTP CONNECT to a TCP service through two sidecars (mTLS)", () => {
  let echo: Awaited<ReturnType<typeof tcpServer>>;
  let mesh: Awaited<ReturnType<typeof startMeshPair>>;
  const open: (net.Socket | http2.ClientHttp2Session)[] = [];

  beforeAll(async () => {
    echo = await tcpServer((s) => s.pipe(s));
    mesh = await startMeshPair(echo.port, PORTS);
  }, 60_000);

  afterAll(async () => {
    for (const o of open) o.destroy();
    await mesh?.stop();
    await echo?.close();
  });

  const outbound = () => mesh.caller.ports.outbound as number;

  it("HTTP/1.1 CONNECT: 200, then bytes both ways, 1 MiB byte exact", async () => {
    const { socket, head, rest } = await connectVia(outbound(), "orders.shop:7000");
    open.push(socket);
    expect(head).toBe("HTTP/1.1 200 Connection Established");
    expect(rest.length).toBe(0);
    expect((await roundTrip(socket, Buffer.from("hello"))).toString()).toBe("hello");
    socket.removeAllListeners("data");
    const big = randomBytes(1024 * 1024);
    const started = performance.now();
    const back = await roundTrip(socket, big);
    console.log(
      `1 MiB echoed through CONNECT + two sidecars in ${(performance.now() - started).toFixed(1)} ms`,
    );
    expect(back.equals(big)).toBe(true);
    socket.destroy();
  });

  it("curl -p -x <outbound> telnet://orders.shop:7000", async () => {
    const curl = spawn(
      "curl",
      ["-sS", "--no-buffer", "-p", "-x", `http://127.0.0.1:${outbound()}`, "telnet://orders.shop:7000"],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    try {
      let out = "";
      let err = "";
      curl.stderr.on("data", (c: Buffer) => {
        err += c.toString();
      });
      const got = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no echo from curl; stderr so far: ${err}`)), 10_000);
        curl.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          if (out.includes("over the mesh\n")) {
            clearTimeout(timer);
            resolve(out);
          }
        });
      });
      // curl's telnet sends what it reads on stdin, and writes what comes back to stdout.
      curl.stdin.write("over the mesh\n");
      expect(await got).toBe("over the mesh\n");
    } finally {
      const exited = new Promise((r) => curl.once("exit", r));
      curl.kill("SIGTERM");
      await exited;
    }
  });

  it("HTTP/2 CONNECT stream: 200, then bytes both ways", async () => {
    const session = http2.connect(`http://127.0.0.1:${outbound()}`);
    open.push(session);
    const stream = session.request({ ":method": "CONNECT", ":authority": "orders.shop:7000" });
    const status = await new Promise<number>((r) => stream.once("response", (h) => r(Number(h[":status"]))));
    expect(status).toBe(200);
    const data = randomBytes(64 * 1024);
    expect((await roundTrip(stream, data)).equals(data)).toBe(true);
    // Two streams on one session are two tunnels.
    const second = session.request({ ":method": "CONNECT", ":authority": "orders:7000" });
    expect((await roundTrip(second, Buffer.from("two"))).toString()).toBe("two");
    session.destroy();
  });

  it.each([
    [
      "a host that is no mesh service",
      "example.com:7000",
      404,
      /^no mesh service for host "example\.com:7000"/,
    ],
    [
      "a port the service does not declare",
      "orders.shop:22",
      403,
      /^orders\.shop has no port 22 \(its ports: 7000\)$/,
    ],
  ])("HTTP/1.1 CONNECT to %s: %s with the reason", async (_name, target, status, reason) => {
    const { socket, head } = await connectVia(outbound(), target);
    open.push(socket);
    const [statusLine, ...fields] = head.split("\r\n");
    expect(statusLine?.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    const error = fields.find((f) => f.startsWith("weft-error: "))?.slice("weft-error: ".length);
    expect(error).toMatch(reason);
    socket.destroy();
  });

  it("HTTP/2 CONNECT to an undeclared port: 403 with the reason", async () => {
    const session = http2.connect(`http://127.0.0.1:${outbound()}`);
    open.push(session);
    const stream = session.request({ ":method": "CONNECT", ":authority": "orders.shop:22" });
    const headers = await new Promise<http2.IncomingHttpHeaders>((r) => stream.once("response", r));
    expect(headers[":status"]).toBe(403);
    expect(headers["weft-error"]).toBe("orders.shop has no port 22 (its ports: 7000)");
    session.destroy();
  });

  it("counts tunnels, and the TCP service being down is a 503 naming why", async () => {
    const stats = (await (await fetch(`http://127.0.0.1:${mesh.caller.ports.admin}/stats`)).json()) as Record<
      string,
      number
    >;
    const key = (protocol: string, result: string) =>
      Object.keys(stats).find(
        (k) =>
          k.startsWith("weft_sidecar_connect_tunnels_total") &&
          k.includes(`protocol="${protocol}"`) &&
          k.includes(`result="${result}"`),
      ) ?? "";
    expect(stats[key("http1", "200")]).toBeGreaterThanOrEqual(1);
    expect(stats[key("h2", "200")]).toBe(2);
    await echo.close();
    const { socket, head } = await connectVia(outbound(), "orders.shop:7000");
    open.push(socket);
    expect(head).toMatch(
      /^HTTP\/1\.1 503 Service Unavailable\r\nweft-error: tunnel to orders\.shop:7000 through 127\.0\.0\.1:\d+ was refused with status 502: cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
  });
});
