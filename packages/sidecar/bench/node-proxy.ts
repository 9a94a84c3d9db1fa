// The floor for any Node proxy on this machine: a bare HTTP/1.1 keep-alive reverse proxy with
// no routing, policy or telemetry. `node bench/node-proxy.ts <listen port> <upstream port>`.
import http from "node:http";

const [listen, upstream] = process.argv.slice(2).map(Number) as [number, number];
const agent = new http.Agent({ keepAlive: true });
http
  .createServer((req, res) => {
    const out = http.request(
      { host: "127.0.0.1", port: upstream, path: req.url, method: req.method, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  })
  .listen(listen, "127.0.0.1");
