import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  type CallOutcome,
  type DataPlane,
  type Handler,
  MeshError,
  type MeshResponse,
  newCall,
} from "@weft/core";
import { errorResponse, type PeerInfo, toHeaders } from "@weft/core/transport";
import type { MethodInfo } from "../client/method-table.ts";
import { statusCode } from "../client/send.ts";
import type { RestTranscoding } from "./transcode.ts";

export interface Route {
  readonly handler: UniversalHandler;
  readonly method: MethodInfo;
}

/** Counts responses in flight, so shutdown can wait for them to finish. */
export class InFlight {
  #n = 0;
  #idle: (() => void)[] = [];
  get count(): number {
    return this.#n;
  }
  enter(): void {
    this.#n++;
  }
  leave(): void {
    this.#n--;
    if (this.#n === 0) for (const f of this.#idle.splice(0)) f();
  }
  idle(): Promise<void> {
    return this.#n === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }
}

/**
 * The reason a call's signal gives once its stream has closed. Made once: `abort()` without
 * a reason builds a DOMException, stack trace and all, for every call, even those that
 * ended normally (the stream always closes).
 */
const STREAM_CLOSED = new DOMException("the stream of the call closed", "AbortError");

/**
 * Serves mesh requests with connect-es handlers: each request runs through the data plane's
 * inbound chain (identity from the client certificate, authorization, limits, telemetry)
 * before its handler, and a call the mesh refuses gets an error in the caller's protocol.
 */
export function inboundHandler(
  dataPlane: DataPlane,
  routes: ReadonlyMap<string, Route>,
  inFlight: InFlight,
  rest?: RestTranscoding,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer: PeerInfo) => void {
  const apps = new Map<string, Handler>();
  return (stream, headers, peer) => {
    const path = String(headers[":path"] ?? "/");
    const route = routes.get(path.split("?")[0] ?? path);
    const header = toHeaders(headers);
    if (!route) {
      // REST/JSON transcoding (transcode.ts): a path bound by a google.api.http annotation.
      if (rest?.handle(stream, headers, header, peer)) return;
      stream.respond({ ":status": 404, "content-type": "text/plain" });
      stream.end(`no service here serves ${path}`);
      return;
    }
    inFlight.enter();
    const controller = new AbortController();
    stream.once("close", () => {
      controller.abort(STREAM_CLOSED);
      inFlight.leave();
    });
    let app = apps.get(path);
    if (!app) {
      app = application(route.handler, stream.session?.alpnProtocol ?? "h2");
      apps.set(path, app);
    }
    // The headers were just read off the stream for this call alone: no copy.
    const call = newCall({
      ownHeaders: true,
      kind: route.method.kind,
      place: "server",
      service: dataPlane.service,
      namespace: dataPlane.namespace,
      method: route.method.name,
      path,
      httpMethod: String(headers[":method"] ?? "POST"),
      headers: header,
      idempotent: route.method.idempotent,
      source: peer.identity,
      signal: controller.signal,
      body: { replayable: false, value: { stream, authority: String(headers[":authority"] ?? "") } },
    });
    dataPlane.inbound(call, app).then(
      (res) => write(stream, res),
      (err: unknown) => {
        const e = err instanceof MeshError ? err : undefined;
        if (!e) {
          if (!stream.destroyed) stream.close(8 /* CANCEL */);
          return;
        }
        const r = errorResponse(header.get("content-type"), e);
        if (stream.destroyed) return;
        stream.respond({ ":status": r.status, ...r.headers }, { endStream: r.body === undefined });
        if (r.body) stream.end(r.body);
      },
    );
  };
}

interface InboundBody {
  stream: ServerHttp2Stream;
  authority: string;
}

/** The chain's terminal on the server: the connect-es handler of the route. */
function application(handler: UniversalHandler, _alpn: string): Handler {
  return async (call) => {
    const { stream, authority } = call.body.value as InboundBody;
    const response = await handler({
      httpVersion: "2.0",
      url: `https://${authority || "mesh"}${call.path}`,
      method: call.httpMethod,
      header: call.headers,
      body: stream,
      signal: call.signal,
    });
    let settle!: (o: CallOutcome) => void;
    const settled = new Promise<CallOutcome>((r) => {
      settle = r;
    });
    const header = response.header ?? new Headers();
    const result: MeshResponse & { settle: typeof settle } = {
      status: response.status,
      headers: header,
      code: statusCode(response.status, header, undefined),
      body: response,
      settled,
      settle,
    };
    return result;
  };
}

function write(stream: ServerHttp2Stream, res: MeshResponse): void {
  const response = res.body as UniversalServerResponse;
  const settle = (res as MeshResponse & { settle?: (o: CallOutcome) => void }).settle;
  const headers: Record<string, string | number> = { ":status": response.status };
  response.header?.forEach((v, k) => {
    headers[k] = v;
  });
  if (stream.destroyed) {
    settle?.({ code: undefined, status: 499 });
    return;
  }
  stream.respond(headers, { waitForTrailers: true });
  stream.once("wantTrailers", () => {
    const t: Record<string, string> = {};
    response.trailer?.forEach((v, k) => {
      t[k] = v;
    });
    stream.sendTrailers(t);
  });
  const finish = () =>
    settle?.({
      code: statusCode(response.status, response.header ?? new Headers(), response.trailer),
      status: response.status,
    });
  (async () => {
    try {
      if (response.body) {
        for await (const chunk of response.body) {
          if (!stream.write(chunk)) await new Promise((r) => stream.once("drain", r));
        }
      }
      stream.end();
    } catch {
      if (!stream.destroyed) stream.close(2 /* INTERNAL_ERROR */);
    } finally {
      finish();
    }
  })();
}
