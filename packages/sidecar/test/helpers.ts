import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { Stats } from "../src/admin/stats.ts";
import { HttpFront } from "../src/http/front.ts";
import type { Resolve } from "../src/http/proxy.ts";
import type { UnderscoreAction } from "../src/http/request-checks.ts";
import { UpstreamPool } from "../src/http/upstream.ts";
import { Listener, type StreamHandler } from "../src/listeners/listener.ts";

/** An HTTP/1.1 app that records every request it gets (method, url, headers, body, trailers). */
export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

export async function recordingApp(
  respond: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void = (_q, res, body) =>
    res.end(`echo:${body}`),
) {
  const seen: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        trailers: req.trailers,
      });
      respond(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    seen,
    server,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A sniffing listener with its HTTP front (what the app's HTTP/1.1 meets), on an ephemeral port. */
export async function startListener(
  resolve: Resolve,
  opts: { sniffMs?: number; streams?: StreamHandler; headersWithUnderscores?: UnderscoreAction } = {},
) {
  const stats = new Stats();
  const pool = new UpstreamPool();
  const front = new HttpFront({
    place: "sidecar-outbound",
    pool,
    resolve,
    stats,
    headersWithUnderscores: opts.headersWithUnderscores,
  });
  const listener = new Listener({
    name: "test",
    place: "sidecar-outbound",
    host: "127.0.0.1",
    port: 0,
    front,
    sniffMs: opts.sniffMs ?? 100,
    stats,
    streams: opts.streams,
  });
  const port = await listener.listen();
  return {
    port,
    stats,
    front,
    close: async () => {
      await listener.close();
      front.close();
      pool.close();
    },
  };
}

/** Writes raw bytes, and collects everything the server sends until it closes or `ms` pass. */
export function rawExchange(port: number, bytes: string | Buffer, ms = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), ms);
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", reject);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    s.write(bytes);
  });
}
