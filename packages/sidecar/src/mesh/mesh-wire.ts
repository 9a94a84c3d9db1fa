import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import { Readable } from "node:stream";
import type { Code } from "@connectrpc/connect";
import {
  type CallKind,
  type DataPlane,
  type Handler,
  type MeshCall,
  MeshError,
  type MeshResponse,
  newCall,
} from "@weft/core";
import {
  grpcStatus,
  requestForCall,
  type TransportClient,
  type TransportResponse,
} from "@weft/core/transport";
import type { MeshUpstream, UpstreamRequest, UpstreamResponse } from "../http/upstream.ts";

/** `call.attributes` key: the `host:port` a tcp call's tunnel asks the far member for. */
const TUNNEL_AUTHORITY = Symbol("weft.sidecar.tunnelAuthority");
/** `call.attributes` key: the request body whose trailers (known once it ended) go after it. */
const TRAILERS_OF = Symbol("weft.sidecar.trailersOf");

type WithTrailers = { trailers?: NodeJS.Dict<string> };

/** The trailers a body carried, pseudo-headers left out; undefined when none. */
function trailersOf(body: WithTrailers): Record<string, string> | undefined {
  const t = body.trailers;
  if (!t) return undefined;
  const out: Record<string, string> = {};
  for (const k in t) if (k.charCodeAt(0) !== 58 && t[k] !== undefined) out[k] = t[k] as string;
  return out;
}

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/**
 * The terminal of the sidecar's outbound chain: sends one attempt to the endpoint the balancer
 * picked, over the core transport (mTLS HTTP/2 or h2c), as a request or, for tcp and udp calls,
 * as a CONNECT tunnel whose stream becomes the response body (length-prefixed datagrams for udp).
 */
export function wireSend(client: TransportClient): Handler {
  return async (call) => {
    const ep = call.endpoint;
    if (!ep) throw new Error("the chain reached the transport without an endpoint (no balance step?)");
    const expectedIdentity = ep.identity || call.destination?.spiffeId;
    if (call.kind === "tcp" || call.kind === "udp") {
      const stream = await client.openTunnel(ep, {
        authority: call.attributes.get(TUNNEL_AUTHORITY) as string,
        protocol: call.kind,
        signal: call.signal,
        deadline: call.deadline,
        expectedIdentity,
      });
      const settled = new Promise<{ code: Code | undefined; status: number }>((resolve) =>
        stream.once("close", () => resolve({ code: undefined, status: 200 })),
      );
      return { status: 200, headers: new Headers(), code: undefined, body: stream, endpoint: ep, settled };
    }
    const res = await requestForCall(client, call, { trailers: trailerSource(call) });
    const headCode = grpcStatus(res.headers);
    return {
      status: res.status,
      headers: res.headers,
      code: headCode,
      body: res,
      endpoint: ep,
      settled: res.trailers.then(
        (t) => ({ code: grpcStatus(res.headers, t), status: res.status }),
        (error: Error) => ({
          code: error instanceof MeshError ? error.code : undefined,
          status: res.status,
          error,
        }),
      ),
    };
  };
}

/** Request trailers are waited for only when the client announced them (a `Trailer` header). */
function trailerSource(call: MeshCall): (() => Record<string, string> | undefined) | undefined {
  const body = call.attributes.get(TRAILERS_OF) as WithTrailers | undefined;
  return body ? () => trailersOf(body) : undefined;
}

/**
 * Requests and tunnels for mesh services, run through the data plane's outbound chain
 * (routing, timeouts, retries, balancing, telemetry, plugins) before they reach the wire.
 */
export class MeshWire {
  readonly #plane: DataPlane;
  readonly #client: TransportClient;

  constructor(plane: DataPlane, client: TransportClient) {
    this.#plane = plane;
    this.#client = client;
  }

  async send(upstream: MeshUpstream, req: UpstreamRequest): Promise<UpstreamResponse> {
    // Name/value pairs the call's header map is built from once (no Headers copied again).
    const headers: [string, string][] = [];
    for (const name in req.headers) {
      const v = req.headers[name];
      if (Array.isArray(v)) for (const x of v) headers.push([name, x]);
      else if (v !== undefined) headers.push([name, String(v)]);
    }
    const contentType = String(req.headers["content-type"] ?? "");
    const rpc = contentType.startsWith("application/grpc") || contentType.startsWith("application/connect");
    const bodyless = req.method === "GET" || req.method === "HEAD";
    if (bodyless) req.body.resume?.();
    const kind: CallKind = rpc ? "bidi_streaming" : "http";
    const call = newCall({
      kind,
      place: "sidecar-outbound",
      service: upstream.service,
      namespace: upstream.namespace,
      method: rpc ? req.path.slice(1).split("?")[0] : "",
      path: req.path,
      httpMethod: req.method,
      headers,
      idempotent: !rpc && IDEMPOTENT_METHODS.has(req.method),
      signal: req.signal,
      // A streamed body is read once: the chain retries it only when it was never sent.
      body: bodyless ? { replayable: true, value: undefined } : { replayable: false, value: req.body },
    });
    if (!bodyless && call.headers.has("trailer")) call.attributes.set(TRAILERS_OF, req.body);
    return toUpstreamResponse(await this.#plane.outbound(call));
  }

  /** An L4 tunnel to `authority` through an endpoint of the service, picked by the chain. */
  async tunnel(
    upstream: MeshUpstream,
    authority: string,
    signal?: AbortSignal,
    protocol: "tcp" | "udp" = "tcp",
  ): Promise<Duplex> {
    const call: MeshCall = newCall({
      kind: protocol,
      place: "sidecar-outbound",
      service: upstream.service,
      namespace: upstream.namespace,
      signal,
    });
    call.attributes.set(TUNNEL_AUTHORITY, authority);
    const res = await this.#plane.outbound(call);
    return res.body as Duplex;
  }

  close(): void {
    this.#client.close();
  }
}

/** A chain response in the shape the fronts write: a transport response, or one a step made. */
function toUpstreamResponse(res: MeshResponse): UpstreamResponse {
  const head = toIncoming(res.headers);
  const wire = res.body as TransportResponse | undefined;
  if (wire && typeof wire === "object" && wire.body instanceof Readable) {
    return {
      status: res.status,
      headers: head,
      body: wire.body,
      trailers: wire.trailers.then(toIncoming),
      endStream: false,
    };
  }
  // Made by a step (fault injection, a plugin): its body is bytes or text, or nothing.
  const bytes = typeof res.body === "string" || res.body instanceof Uint8Array ? [res.body] : [];
  return {
    status: res.status,
    headers: head,
    body: Readable.from(bytes),
    trailers: Promise.resolve({}),
    endStream: bytes.length === 0 && res.status !== 200,
  };
}

function toIncoming(h: Headers): IncomingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of h) if (name !== "set-cookie") out[name] = value;
  const cookies = h.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  return out as IncomingHttpHeaders;
}
