import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { constants, type ServerHttp2Stream } from "node:http2";
import { Code } from "@connectrpc/connect";
import { type CallKind, type DataPlane, type Handler, MeshError, newCall, settledResponse } from "@weft/core";
import {
  errorResponse,
  type InboundTunnel,
  type MeshServer,
  type PeerInfo,
  relayTcp,
  relayUdp,
  type ServerLimits,
  type Transport,
} from "@weft/core/transport";
import type { Stats } from "../admin/stats.ts";
import type { ProtocolConverter } from "../convert/protocol-converter.ts";
import { forwardableHeaders, forwardableTrailers } from "../http/headers.ts";
import type { InFlight } from "../http/proxy.ts";
import type { DirectUpstream, UpstreamPool, UpstreamRequest, UpstreamResponse } from "../http/upstream.ts";

/** The header that tells the app who called, from the peer's certificate (never from a header). */
export const PEER_IDENTITY_HEADER = "x-weft-peer-identity";

export interface InboundMeshOptions {
  readonly transport: Transport;
  readonly host: string;
  readonly port: number;
  readonly mode: "strict" | "permissive";
  /** Runs the inbound chain (authorization, rate limits, telemetry, plugins). */
  readonly plane: DataPlane;
  /** The local app, for L7 requests. */
  readonly app: DirectUpstream;
  /** Ports a tunnel may ask for (the service's ports); each is served by the app's port. */
  readonly tunnelPorts: ReadonlySet<number>;
  /** The service's UDP ports: a udp tunnel to one is relayed as datagrams to the app's port. */
  readonly udpPorts: ReadonlySet<number>;
  readonly pool: UpstreamPool;
  readonly stats: Stats;
  readonly inFlight: InFlight;
  /** Connection cap, idle timeouts, HTTP/2 limits and admission; core's defaults otherwise. */
  readonly limits?: Partial<ServerLimits>;
  /** Converts REST/JSON, gRPC-Web and Connect to gRPC for the app, when configured. */
  readonly convert?: ProtocolConverter;
}

/**
 * The mesh inbound port (15008): the core transport's server (mTLS HTTP/2, or h2c) with the
 * sidecar's handlers. Every request and tunnel runs the data plane's inbound chain with the
 * caller's identity from its certificate; L7 requests then go to the local app with that
 * identity in `x-weft-peer-identity` (any such header from the caller is dropped first), and
 * CONNECT tunnels (HBONE) are relayed to the app, only for a port of the service, so the
 * inbound port is never an open proxy.
 */
export function listenInbound(o: InboundMeshOptions): Promise<MeshServer> {
  // One terminal each for the whole listener: the data plane caches a composed chain per
  // terminal, so a closure per request would build the inbound chain anew every time.
  const toApp = appTerminal(o);
  const toTunnel = tunnelTerminal(o);
  return o.transport.listen(
    { host: o.host, port: o.port, mode: o.mode, limits: { place: "sidecar-inbound", ...o.limits } },
    {
      request: (stream, headers, peer) => serve(o, toApp, stream, headers, peer),
      tunnel: (tunnel) => relay(o, toTunnel, tunnel),
    },
  );
}

/** `call.attributes` key: the request to send the app once the inbound chain lets it through. */
const APP_REQUEST = Symbol("weft.sidecar.appRequest");
/** `call.attributes` key: the tunnel to relay to the app once the inbound chain lets it through. */
const APP_TUNNEL = Symbol("weft.sidecar.appTunnel");

function appTerminal(o: InboundMeshOptions): Handler {
  return async (call) => {
    const up = await o.pool.send(o.app, call.attributes.get(APP_REQUEST) as UpstreamRequest);
    return { ...settledResponse({ status: up.status }), body: up };
  };
}

function tunnelTerminal(o: InboundMeshOptions): Handler {
  return async (call) => {
    const local = call.attributes.get(APP_TUNNEL) as InboundTunnel;
    o.stats.inc("weft_sidecar_tunnels_total", { place: "sidecar-inbound", protocol: local.protocol });
    if (local.protocol === "udp") relayUdp(local);
    else void relayTcp(local);
    return settledResponse({ status: 200 });
  };
}

function serve(
  o: InboundMeshOptions,
  toApp: Handler,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  peer: PeerInfo,
): void {
  o.inFlight.enter();
  stream.once("close", () => o.inFlight.leave());
  o.stats.inc("weft_sidecar_requests_total", {
    place: "sidecar-inbound",
    protocol: peer.secure ? "mtls" : "h2c",
  });
  if (o.convert?.serveStream(stream, headers, peer.identity)) return;
  const out = forwardableHeaders(headers);
  delete out[PEER_IDENTITY_HEADER];
  if (peer.identity) out[PEER_IDENTITY_HEADER] = peer.identity.spiffeId;
  const abort = new AbortController();
  // Only a stream cut before its response ended is an abort (see responseEnded).
  stream.once("close", () => {
    if (!stream.writableEnded) abort.abort();
  });
  const body = stream as ServerHttp2Stream & { trailers?: NodeJS.Dict<string> };
  stream.once("trailers", (t: NodeJS.Dict<string>) => {
    body.trailers = t;
  });
  const method = String(headers[":method"] ?? "GET");
  const path = String(headers[":path"] ?? "/");
  const contentType = String(headers["content-type"] ?? "");
  const rpc = contentType.startsWith("application/grpc") || contentType.startsWith("application/connect");
  const kind: CallKind = rpc ? "bidi_streaming" : "http";
  const call = newCall({
    kind,
    place: "sidecar-inbound",
    service: o.plane.service,
    namespace: o.plane.namespace,
    method: rpc ? path.slice(1).split("?")[0] : "",
    path,
    httpMethod: method,
    headers: out as Record<string, string>,
    source: peer.identity,
    signal: abort.signal,
    body: { replayable: false, value: body },
  });
  call.attributes.set(APP_REQUEST, { method, path, headers: out, body, signal: abort.signal });
  o.plane
    .inbound(call, toApp)
    .then(async (res) => {
      if (stream.destroyed) return;
      const up = res.body as UpstreamResponse | undefined;
      if (!up || typeof up !== "object" || !("trailers" in up)) {
        stream.respond({ ":status": res.status }, { endStream: true });
        return;
      }
      const head: OutgoingHttpHeaders = { ...forwardableHeaders(up.headers), ":status": up.status };
      if (up.endStream || up.headers["grpc-status"] !== undefined) {
        up.body.resume();
        stream.respond(head, { endStream: true });
        return;
      }
      if (up.headers["content-length"] !== undefined && up.headers.trailer === undefined) {
        // A sized HTTP/1.1 body cannot carry trailers: no trailers frame to wait for.
        stream.respond(head);
        up.body.pipe(stream);
        return;
      }
      stream.respond(head, { waitForTrailers: true });
      let trailers: OutgoingHttpHeaders | undefined;
      stream.once("wantTrailers", () => stream.sendTrailers(trailers ?? {}));
      up.body.pipe(stream, { end: false });
      trailers = forwardableTrailers(await up.trailers);
      stream.end();
    })
    .catch((err: unknown) => {
      if (stream.destroyed) return;
      if (stream.headersSent) {
        stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      // Not sent to the app (refused by a step), or the app could not be reached.
      const e =
        err instanceof MeshError && err.provenance.plugin !== "application"
          ? err
          : new MeshError(
              Code.Unavailable,
              `local app at ${o.app.address}:${o.app.port} failed: ${(err as Error).message}`,
              { place: "sidecar-inbound", plugin: "application", policy: "" },
              { cause: err },
            );
      o.stats.inc("weft_sidecar_failed_total", { place: "sidecar-inbound", code: String(e.code) });
      body.resume();
      const r = errorResponse(contentType, e);
      stream.respond({ ...r.headers, ":status": r.status }, { endStream: r.body === undefined });
      if (r.body) stream.end(r.body);
    });
}

function relay(o: InboundMeshOptions, toTunnel: Handler, tunnel: InboundTunnel): void {
  const port = Number(tunnel.authority.slice(tunnel.authority.lastIndexOf(":") + 1));
  const udp = tunnel.protocol === "udp";
  const served = udp ? o.udpPorts : o.tunnelPorts;
  if (!served.has(port)) {
    o.stats.inc("weft_sidecar_refused_total", { place: "sidecar-inbound", reason: "tunnel_port_not_served" });
    tunnel.reject(
      403,
      `this member serves ${tunnel.protocol} tunnels to ports ${[...served].join(", ") || "(none)"} only`,
    );
    return;
  }
  const call = newCall({
    kind: tunnel.protocol,
    place: "sidecar-inbound",
    service: o.plane.service,
    namespace: o.plane.namespace,
    source: tunnel.peer.identity,
  });
  // The spread keeps accept/reject, which are bound to the tunnel's stream.
  // The spread keeps accept/reject, which are bound to the tunnel's stream.
  call.attributes.set(APP_TUNNEL, { ...tunnel, authority: `${o.app.address}:${o.app.port}` });
  o.plane.inbound(call, toTunnel).catch((err: unknown) => {
    const e = err instanceof MeshError ? err : undefined;
    o.stats.inc("weft_sidecar_refused_total", {
      place: "sidecar-inbound",
      reason: "tunnel_refused_by_chain",
    });
    tunnel.reject(e?.httpStatus ?? 500, e?.reason ?? (err as Error).message);
  });
}
