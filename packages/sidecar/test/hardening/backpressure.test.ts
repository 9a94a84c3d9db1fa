import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { reportHardening } from "@weft/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { guardedListener, RawClient, until } from "./setup.ts";

// A slow peer on one side of the sidecar must pause the other side, not fill the sidecar's
// memory: the bytes the fast side gets to send while the slow one reads nothing stay bounded by
// socket buffers, whatever the body's size.

const BODY = 256 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** Loopback socket buffers on both hops (kernel autotuning goes to a few MB each) plus the streams' own. */
const BOUND = 48 * 1024 * 1024;
/** No progress for this long means the slow side's backpressure reached the fast side. */
const STALLED_MS = 500;

/** Resolves once `count()` has not changed for STALLED_MS (or fails after `ms`). */
async function stalled(count: () => number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  let last = count();
  let since = Date.now();
  while (Date.now() - since < STALLED_MS) {
    if (Date.now() > end) throw new Error(`still moving after ${ms} ms (${count()} bytes)`);
    await new Promise((r) => setTimeout(r, 25));
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return (server.address() as AddressInfo).port;
}

describe("backpressure through the sidecar's HTTP front", () => {
  it("a client that stops reading pauses the upstream: bytes produced stay bounded", async () => {
    let produced = 0;
    const app = http.createServer((_req, res) => {
      res.writeHead(200, { "content-length": String(BODY) });
      // Produces only when asked: what it produced is what the sidecar pulled.
      new Readable({
        read() {
          if (produced >= BODY) this.push(null);
          else {
            produced += CHUNK;
            this.push(Buffer.alloc(CHUNK));
          }
        },
      }).pipe(res);
    });
    const appPort = await listen(app);
    const side = await guardedListener(() => ({ address: "127.0.0.1", port: appPort, protocol: "http1" }));
    cleanups.push(side.close);
    const client = await RawClient.open(side.port);
    cleanups.push(() => client.destroy());
    client.write("GET /big HTTP/1.1\r\nHost: app\r\n\r\n");
    await until(() => client.received.startsWith("HTTP/1.1 200"), 3_000);
    client.socket.pause();
    // Without backpressure the whole body would be pulled (and held) by the sidecar.
    await stalled(() => produced);
    expect(produced).toBeLessThan(BOUND);
    console.info(
      `slow reader: ${(produced / 2 ** 20).toFixed(1)} MB of a ${BODY / 2 ** 20} MB body produced while the client read nothing`,
    );
    // The request is a good one and is served; what is refused is the attempt to make the
    // sidecar hold the body: nothing past the bound was pulled from (or pushed at) anyone.
    reportHardening({
      class: "backpressure",
      case: "client stops reading a 256 MB response (sidecar holds < 48 MB)",
      refused: produced < BOUND,
      reachedApp: false,
    });
  });

  it("an app that stops reading pauses the client's upload: bytes accepted stay bounded", async () => {
    let appRead = 0;
    const paused: http.IncomingMessage[] = [];
    const app = http.createServer((req) => {
      req.pause();
      paused.push(req);
    });
    const appPort = await listen(app);
    const side = await guardedListener(() => ({ address: "127.0.0.1", port: appPort, protocol: "http1" }));
    cleanups.push(side.close);
    const socket = net.connect(side.port, "127.0.0.1");
    socket.on("error", () => {});
    cleanups.push(() => socket.destroy());
    await new Promise<void>((r) => socket.once("connect", r));
    socket.write(`POST /upload HTTP/1.1\r\nHost: app\r\nContent-Length: ${BODY}\r\n\r\n`);
    let accepted = 0;
    const chunk = Buffer.alloc(CHUNK);
    // Writes whenever the socket takes more: what it took is what the sidecar let in.
    const pump = () => {
      while (accepted < BODY) {
        accepted += CHUNK;
        if (!socket.write(chunk)) {
          socket.once("drain", pump);
          return;
        }
      }
    };
    pump();
    await until(() => paused.length === 1, 2_000);
    await stalled(() => accepted);
    const stalledAt = accepted;
    expect(accepted).toBeLessThan(BOUND);
    // Reading again lets the upload go on.
    paused[0]?.on("data", (c: Buffer) => {
      appRead += c.length;
    });
    paused[0]?.resume();
    await until(() => appRead > 0, 2_000);
    console.info(
      `slow app: the client got ${(stalledAt / 2 ** 20).toFixed(1)} MB of a ${BODY / 2 ** 20} MB upload accepted while the app read nothing`,
    );
    reportHardening({
      class: "backpressure",
      case: "app stops reading a 256 MB upload (sidecar accepts < 48 MB)",
      refused: stalledAt < BOUND,
      reachedApp: false,
    });
  });
});
