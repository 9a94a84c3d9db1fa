import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock, TimerHandle } from "@weft/core";
import { CLIENT_SCRIPT } from "./client-script.ts";
import type { Overview } from "./overview.ts";
import { PAGE_CSS, PAGE_HTML } from "./page.ts";
import { CYTOSCAPE_PATH, cytoscapeScript } from "./vendor-assets.ts";

export const DEFAULT_DASHBOARD_PORT = 15020;

export interface DashboardServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Computes what the page shows; called once per refresh while a page is open. */
  overview: () => Overview;
  clock: Clock;
  /** How often open pages are checked for news. Default 1 s. */
  refreshMs?: number;
  /** An unchanged overview is still resent this often, so a page can tell it is connected. Default 15 s. */
  heartbeatMs?: number;
}

export interface DashboardServer {
  /** `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

// The page loads only its own script and style and talks only to this server.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const JAVASCRIPT = "text/javascript; charset=utf-8";

/**
 * The dashboard's plain HTTP/1.1 listener: the page, `/api/overview` (JSON) and
 * `/api/events` (Server-Sent Events: an `overview` event whenever it changes). Overviews
 * are computed only while someone is watching, once per refresh for all of them.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { clock } = options;
  const assets: Record<string, { type: string; body: string }> = {
    "/": { type: "text/html; charset=utf-8", body: PAGE_HTML },
    "/dashboard.css": { type: "text/css; charset=utf-8", body: PAGE_CSS },
    "/dashboard.js": { type: JAVASCRIPT, body: CLIENT_SCRIPT },
    [CYTOSCAPE_PATH]: { type: JAVASCRIPT, body: await cytoscapeScript() },
  };
  const refreshMs = options.refreshMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const watchers = new Set<http.ServerResponse>();
  let last = "";
  let lastSentAt = 0;
  let timer: TimerHandle | undefined;

  const current = (): { body: string; same: string } => {
    const o = options.overview();
    // generatedAtMs changes every time; whether anything else did decides a push.
    return { body: JSON.stringify(o), same: JSON.stringify({ ...o, generatedAtMs: 0 }) };
  };
  const tick = () => {
    timer = undefined;
    if (watchers.size === 0) return;
    const { body, same } = current();
    const now = clock.now();
    if (same !== last || now - lastSentAt >= heartbeatMs) {
      last = same;
      lastSentAt = now;
      for (const w of watchers) w.write(`event: overview\ndata: ${body}\n\n`);
    }
    timer = clock.setTimeout(tick, refreshMs);
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end(`${req.method} is not allowed here; the dashboard is read-only (GET)\n`);
      return;
    }
    const asset = assets[path];
    if (asset) {
      res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache", ...SECURITY_HEADERS });
      res.end(asset.body);
      return;
    }
    if (path === "/favicon.ico") {
      // Browsers ask for it unprompted; answering 404 would log an error in every console.
      res.writeHead(204, { "cache-control": "max-age=86400" });
      res.end();
      return;
    }
    if (path === "/api/overview") {
      res.writeHead(200, {
        "content-type": "application/json",
        "cache-control": "no-store",
        ...SECURITY_HEADERS,
      });
      res.end(current().body);
      return;
    }
    if (path === "/api/events") {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
        ...SECURITY_HEADERS,
      });
      const { body } = current();
      res.write(`retry: 2000\nevent: overview\ndata: ${body}\n\n`);
      watchers.add(res);
      res.on("close", () => watchers.delete(res));
      timer ??= clock.setTimeout(tick, refreshMs);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end(`no dashboard page at ${path}; try / or /api/overview\n`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "EADDRINUSE")
      throw new Error(
        `dashboard port ${options.port} on ${options.host} is in use; pick another --dashboard-port (0 for any free port)`,
      );
    throw e;
  });
  const port = (server.address() as AddressInfo).port;
  const h = options.host;
  const urlHost = h === "0.0.0.0" ? "127.0.0.1" : h === "::" ? "[::1]" : h.includes(":") ? `[${h}]` : h;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    close() {
      closing ??= (async () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        timer = undefined;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const w of watchers) w.end();
        watchers.clear();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
