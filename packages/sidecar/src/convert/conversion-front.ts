import type { ServerResponse } from "node:http";
import { Code } from "@connectrpc/connect";
import { MeshError } from "@weft/core";
import type { Stats } from "../admin/stats.ts";
import { HttpFront } from "../http/front.ts";
import type { FrontRequest, FrontResponse, InFlight } from "../http/proxy.ts";
import type { UpstreamPool } from "../http/upstream.ts";
import { exchangeOf } from "./exchange.ts";
import type { ProtocolConverter } from "./protocol-converter.ts";

/**
 * The conversion port: plaintext HTTP/1.1 and h2c, where browsers and `curl` call the app's
 * RPCs as REST/JSON, gRPC-Web or Connect (and gRPC). Callers here have no certificate, so a
 * call has no source identity: authorization policies see an unauthenticated caller.
 */
export function conversionFront(converter: ProtocolConverter, pool: UpstreamPool, stats: Stats): HttpFront {
  return new HttpFront({
    place: "sidecar-inbound",
    pool,
    stats,
    resolve: () => {
      throw new MeshError(
        Code.Unimplemented,
        "the protocol-conversion port does not tunnel upgrades; use the mesh inbound port",
        { place: "sidecar-inbound", plugin: "convert", policy: "" },
      );
    },
    handler: (inFlight) => (req, res) => serve(converter, inFlight, req, res),
  });
}

function serve(
  converter: ProtocolConverter,
  inFlight: InFlight,
  req: FrontRequest,
  res: FrontResponse,
): void {
  inFlight.track(res);
  if (converter.serve(exchangeOf(req, res), undefined, { grpc: true })) return;
  req.resume();
  const path = req.url ?? "/";
  const body = JSON.stringify({
    code: "unimplemented",
    message: `${req.method} ${path.split("?")[0]} is no REST route, gRPC-Web, Connect or gRPC method of this service`,
  });
  (res as ServerResponse).writeHead(404, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
