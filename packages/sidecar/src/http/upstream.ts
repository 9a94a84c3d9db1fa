import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { MeshWire } from "../mesh/mesh-wire.ts";

/** A local app, or a destination outside the mesh: HTTP/1.1 or plaintext HTTP/2, direct. */
export interface DirectUpstream {
  readonly protocol: "http1" | "h2c";
  readonly address: string;
  readonly port: number;
  /** The authority to send (Host / :authority); `address:port` when empty. */
  readonly authority?: string;
}

/** A mesh service: the request runs the outbound chain, which picks an endpoint and sends on the mesh wire. */
export interface MeshUpstream {
  readonly protocol: "mesh";
  readonly service: string;
  readonly namespace: string;
  /** `host:port` an L4 tunnel (WebSocket after its upgrade, transparent TCP) asks the member for. */
  readonly tunnelAuthority: string;
}

/** Where a request goes next. */
export type Upstream = DirectUpstream | MeshUpstream;

/** For messages: where an upstream is. */
export function describeUpstream(u: Upstream): string {
  return u.protocol === "mesh" ? `${u.service}.${u.namespace}` : `${u.address}:${u.port}`;
}

/** A response head from an upstream, with a way to get its trailers once the body ends. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: NodeJS.ReadableStream;
  /** Resolves when the body has ended, with the trailers (empty when there were none). */
  readonly trailers: Promise<NodeJS.Dict<string | string[]>>;
  /** True for an HTTP/2 response that was only a head (gRPC trailers-only responses). */
  readonly endStream: boolean;
}

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  /** The request body, piped to the upstream; trailers are read when it ends. */
  readonly body: NodeJS.ReadableStream & { trailers?: NodeJS.Dict<string>; resume?(): unknown };
  readonly signal: AbortSignal;
}

/**
 * Connections to upstreams, kept alive and shared: one HTTP/1.1 agent, one HTTP/2 session per
 * upstream address. Closing it ends every pooled connection.
 */
export class UpstreamPool {
  readonly #wire: MeshWire | undefined;
  readonly #agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });
  readonly #sessions = new Map<string, http2.ClientHttp2Session>();

  /** `wire` carries "mesh" upstreams; without one they fail saying so. */
  constructor(wire?: MeshWire) {
    this.#wire = wire;
  }

  get wire(): MeshWire | undefined {
    return this.#wire;
  }

  send(upstream: Upstream, req: UpstreamRequest): Promise<UpstreamResponse> {
    if (upstream.protocol === "mesh") {
      if (!this.#wire) return Promise.reject(new Error("no mesh wire configured for this listener"));
      return this.#wire.send(upstream, req);
    }
    return upstream.protocol === "h2c" ? this.#sendH2(upstream, req) : this.#sendH1(upstream, req);
  }

  #sendH1(upstream: DirectUpstream, req: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const out = http.request({
        host: upstream.address,
        port: upstream.port,
        method: req.method,
        path: req.path,
        headers: { ...req.headers, host: upstream.authority || `${upstream.address}:${upstream.port}` },
        agent: this.#agent,
        signal: req.signal,
        joinDuplicateHeaders: false,
      });
      out.once("error", reject);
      out.once("response", (res) => {
        const trailers = new Promise<NodeJS.Dict<string | string[]>>((done, fail) => {
          res.once("end", () => done(res.trailers));
          res.once("error", fail);
          res.once("aborted", () => fail(new Error("upstream closed the response early")));
        });
        trailers.catch(() => {});
        resolve({
          status: res.statusCode ?? 502,
          headers: res.headers,
          body: res,
          trailers,
          endStream: false,
        });
      });
      pipeWithTrailers(req.body, out, (t) => out.addTrailers(t));
    });
  }

  #sendH2(upstream: DirectUpstream, req: UpstreamRequest): Promise<UpstreamResponse> {
    const key = `${upstream.address}:${upstream.port}`;
    let session = this.#sessions.get(key);
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(`http://${key}`);
      const s = session;
      this.#sessions.set(key, s);
      const forget = () => {
        if (this.#sessions.get(key) === s) this.#sessions.delete(key);
      };
      s.once("close", forget);
      s.once("goaway", forget);
      s.on("error", forget);
    }
    const s = session;
    return new Promise((resolve, reject) => {
      // Request trailers only when the client announced them: waiting for trailers that never
      // come would hold every gRPC request stream open.
      const hasTrailers = req.headers.trailer !== undefined;
      const stream = s.request(
        {
          ...req.headers,
          ":method": req.method,
          ":path": req.path,
          ":authority": upstream.authority || key,
          ":scheme": "http",
        },
        { signal: req.signal, waitForTrailers: hasTrailers },
      );
      stream.once("error", reject);
      let trailersSeen: NodeJS.Dict<string | string[]> = {};
      stream.once("trailers", (t) => {
        trailersSeen = t;
      });
      stream.once("response", (headers, flags) => {
        const trailers = new Promise<NodeJS.Dict<string | string[]>>((done, fail) => {
          stream.once("end", () => done(trailersSeen));
          stream.once("error", fail);
          stream.once("aborted", () => fail(new Error("upstream reset the stream")));
        });
        trailers.catch(() => {});
        const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
        resolve({ status: Number(headers[":status"] ?? 502), headers, body: stream, trailers, endStream });
      });
      if (hasTrailers) {
        let pending: OutgoingHttpHeaders = {};
        stream.once("wantTrailers", () => stream.sendTrailers(pending));
        pipeWithTrailers(req.body, stream, (t) => {
          pending = t;
        });
      } else pipeWithTrailers(req.body, stream, () => {});
    });
  }

  close(): void {
    this.#agent.destroy();
    for (const s of this.#sessions.values()) s.destroy();
    this.#sessions.clear();
    this.#wire?.close();
  }
}

/**
 * A byte stream to the upstream for a tunnelled connection: a TCP connection, or for a mesh
 * upstream an HTTP/2 CONNECT stream over the mesh wire.
 */
export async function openStream(pool: UpstreamPool, upstream: Upstream): Promise<Duplex> {
  if (upstream.protocol !== "mesh") {
    const socket = net.connect({ host: upstream.address, port: upstream.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return socket;
  }
  const wire = pool.wire;
  if (!wire) throw new Error("no mesh wire configured for this listener");
  return wire.tunnel(upstream, upstream.tunnelAuthority);
}

/** Pipes a body and, just before the end, hands over the trailers it carried. */
function pipeWithTrailers(
  body: NodeJS.ReadableStream & { trailers?: NodeJS.Dict<string> },
  out: NodeJS.WritableStream,
  setTrailers: (t: OutgoingHttpHeaders) => void,
): void {
  body.on("data", (chunk) => {
    if (!out.write(chunk)) {
      body.pause();
      out.once("drain", () => body.resume());
    }
  });
  body.once("end", () => {
    const t = body.trailers;
    if (t) {
      const clean: OutgoingHttpHeaders = {};
      let any = false;
      for (const k in t) {
        if (k.charCodeAt(0) === 58) continue;
        clean[k] = t[k];
        any = true;
      }
      if (any) setTrailers(clean);
    }
    out.end();
  });
}
