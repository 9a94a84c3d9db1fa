/**
 * The load generator of the TCP stream paths: sends 64 KiB chunks as fast as the path takes
 * them (write until the buffer is full, then wait for drain) on `streams` streams, for
 * `seconds`, then exits.
 *   node tcp-source.ts tcp <port> <streams> <seconds>                 plain TCP connections
 *   node tcp-source.ts connect <port> <authority> <streams> <seconds> HTTP/2 CONNECT streams
 *                                                                     on one h2c session (HBONE)
 */
import http2 from "node:http2";
import net from "node:net";
import type { Writable } from "node:stream";

const CHUNK = Buffer.alloc(64 * 1024, 0x78);
let stopped = false;

function pump(w: Writable): void {
  while (!stopped && w.write(CHUNK)) {}
  if (!stopped) w.once("drain", () => pump(w));
}

function fail(what: string): never {
  console.error(`tcp-source: ${what}`);
  process.exit(1);
}

const [mode, port, ...rest] = process.argv.slice(2);
const streams = Number(mode === "connect" ? rest[1] : rest[0]);
const seconds = Number(mode === "connect" ? rest[2] : rest[1]);
if (!(streams > 0 && seconds > 0)) fail(`usage: tcp|connect <port> [authority] <streams> <seconds>`);

if (mode === "tcp") {
  for (let i = 0; i < streams; i++) {
    const s = net.connect(Number(port), "127.0.0.1", () => pump(s));
    s.on("error", (e) => stopped || fail(`connection to ${port}: ${e.message}`));
  }
} else if (mode === "connect") {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", (e) => stopped || fail(`h2c session to ${port}: ${e.message}`));
  for (let i = 0; i < streams; i++) {
    const stream = session.request({ ":method": "CONNECT", ":authority": rest[0] ?? "" });
    stream.on("response", (h) => {
      if (h[":status"] !== 200) fail(`CONNECT ${rest[0]} via ${port} answered ${h[":status"]}`);
      pump(stream);
    });
    stream.on("error", (e) => stopped || fail(`CONNECT stream via ${port}: ${e.message}`));
  }
} else fail(`unknown mode "${mode}"`);

setTimeout(() => {
  stopped = true;
  process.exit(0);
}, seconds * 1000);
