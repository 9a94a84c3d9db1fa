/**
 * The catalog: a plain REST/JSON service on node:http, with no mesh code in it. In the demo it
 * runs behind weft-sidecar, which terminates mTLS, checks authorization and hands over the
 * caller's SPIFFE ID in `x-weft-peer-identity`.
 *
 *   node examples/shop/src/catalog/server.ts [--port 0] [--host 127.0.0.1]
 *
 * Prints one JSON line `{"msg":"catalog listening","port":N}` on stdout once it listens.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";

/** The JSON of shop.catalog.v1.Item (proto3 JSON names). */
const items = new Map(
  [
    { sku: "tea-earl-grey", name: "Earl Grey, 100 g", priceCents: 650 },
    { sku: "tea-sencha", name: "Sencha, 100 g", priceCents: 890 },
    { sku: "mug-stoneware", name: "Stoneware mug", priceCents: 1490 },
    { sku: "kettle-gooseneck", name: "Gooseneck kettle", priceCents: 5900 },
  ].map((i) => [i.sku, i]),
);

export function catalogServer(): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://catalog");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname === "/healthz") return send(200, { status: "ok" });
    const m = /^\/v1\/items\/([^/]+)$/.exec(url.pathname);
    if (!m) return send(404, { error: `no route for ${req.method} ${url.pathname}` });
    if (req.method !== "GET") return send(405, { error: `${req.method} ${url.pathname}: only GET` });
    const item = items.get(decodeURIComponent(m[1] ?? ""));
    if (!item) return send(404, { error: `no item ${m[1]}` });
    send(200, item);
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } },
  });
  const server = catalogServer();
  server.listen(Number(values.port), values.host, () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ msg: "catalog listening", port }));
  });
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
