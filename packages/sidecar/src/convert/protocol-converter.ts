import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";
import type { DescMethod, Registry } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as Idempotency } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  type CallOutcome,
  ConvertError,
  createTranscoder,
  type DataPlane,
  ERROR_HEADER,
  type Handler,
  MeshError,
  type MeshResponse,
  newCall,
  type PeerIdentity,
  settledResponse,
  type Transcoder,
} from "@weft/core";
import type { Stats } from "../admin/stats.ts";
import type { DirectUpstream, UpstreamPool, UpstreamResponse } from "../http/upstream.ts";
import { PEER_IDENTITY_HEADER } from "../listeners/inbound-mesh.ts";
import { type ConversionOptions, registryOf, servicesOf } from "./conversion-options.ts";
import { Cors } from "./cors.ts";
import { type Exchange, streamExchange } from "./exchange.ts";
import { type Plan, planOf } from "./plan.ts";
import { grpcBody, grpcHeaders, type RequestContext } from "./requests.ts";
import { type Failure, type ResponseContext, writeError, writeResponse } from "./responses.ts";
import { StandardServices } from "./standard-services.ts";

export interface ConverterOptions extends ConversionOptions {
  /** Runs the inbound chain: a converted call meets the same steps as a gRPC one. */
  readonly plane: DataPlane;
  /** The gRPC app (HTTP/2 without TLS). */
  readonly app: DirectUpstream;
  readonly pool: UpstreamPool;
  readonly stats: Stats;
}

/** What the chain's terminal needs of one converted request, carried in the call's body. */
interface Pending {
  readonly plan: Plan;
  readonly ex: Exchange;
  /** True once the connection the call came on is draining (the sidecar is stopping). */
  readonly draining: () => boolean;
}

const NEVER = () => false;

type Settling = MeshResponse & { settle?: (o: CallOutcome) => void };

const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

/**
 * Protocol conversion at the sidecar, in front of an unmodified gRPC app. A REST/JSON,
 * gRPC-Web or Connect request becomes a MeshCall naming the RPC it calls (so authorization,
 * limits and telemetry see what they would for a gRPC call, as on the in-process server),
 * runs the inbound chain, and its terminal sends gRPC to the app; the answer goes back in
 * the caller's protocol. Nothing is read from the body before the chain has admitted the call.
 */
export class ProtocolConverter {
  readonly #o: ConverterOptions;
  readonly #methods = new Map<string, DescMethod>();
  readonly #transcoder: Transcoder | undefined;
  readonly #registry: Registry | undefined;
  readonly #cors: Cors | undefined;
  readonly #enabled: { rest: boolean; grpcWeb: boolean; connect: boolean };
  readonly #request: RequestContext;
  /** Reflection and health answered for the app; undefined when both are off. */
  readonly #standard: StandardServices | undefined;
  /** One terminal for every call: the data plane keeps one composed chain per terminal. */
  readonly #terminal: Handler = (call) => this.#send(call.body.value as Pending, call.headers, call.signal);

  constructor(options: ConverterOptions) {
    if (options.app.protocol !== "h2c") {
      throw new Error(
        `protocol conversion needs an app that speaks gRPC (HTTP/2 without TLS, --app-protocol h2c); the app at ${options.app.address}:${options.app.port} is ${options.app.protocol}`,
      );
    }
    this.#o = options;
    const services = servicesOf(options);
    for (const s of services) for (const m of s.methods) this.#methods.set(`/${s.typeName}/${m.name}`, m);
    this.#registry = registryOf(options);
    const answer = { reflection: options.answer?.reflection ?? true, health: options.answer?.health ?? true };
    if (answer.reflection || answer.health) {
      const { app, pool, plane } = options;
      this.#standard = new StandardServices({ services, ...answer, app, pool, clock: plane.clock });
      for (const [path, m] of this.#standard.methods())
        if (!this.#methods.has(path)) this.#methods.set(path, m);
    }
    this.#enabled = {
      rest: options.rest ?? true,
      grpcWeb: options.grpcWeb ?? true,
      connect: options.connect ?? true,
    };
    const transcoder = this.#enabled.rest
      ? createTranscoder(services, { registry: this.#registry })
      : undefined;
    this.#transcoder = transcoder && transcoder.bindings.length > 0 ? transcoder : undefined;
    this.#cors = options.cors ? new Cors(options.cors) : undefined;
    this.#request = {
      transcoder: this.#transcoder,
      registry: this.#registry,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY,
    };
  }

  /** The REST routes served, `GET /v1/...`, for logs and the config dump. */
  get routes(): string[] {
    return (this.#transcoder?.bindings ?? []).map((b) => `${b.httpMethod} ${b.template.template}`);
  }

  /**
   * Serves the request when it is one to convert (or a CORS preflight); false leaves it to the
   * caller's own handling. Plain gRPC is served only with `grpc` (the conversion port, where
   * nothing else would run the chain for it).
   */
  serve(ex: Exchange, peer: PeerIdentity | undefined, options: { grpc: boolean }): boolean {
    const what = this.#decide(ex.method, ex.path, ex.headers, options.grpc);
    if (!what) return false;
    this.#serve(ex, what, peer);
    return true;
  }

  /**
   * For the mesh inbound port: serves a request on a raw HTTP/2 stream when it is one to
   * convert. gRPC is recognised first and costs nothing more here: it is proxied as before.
   */
  serveStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    peer: PeerIdentity | undefined,
  ): boolean {
    const ct = headers["content-type"];
    const path = String(headers[":path"]);
    const grpc = ct?.startsWith("application/grpc") === true && !ct.startsWith("application/grpc-web");
    // gRPC to the app's own methods is proxied as before; reflection and health are answered here.
    if (grpc && !this.#standard?.handles(path)) return false;
    const what = this.#decide(String(headers[":method"]), path, headers, grpc);
    if (!what) return false;
    // A drain closes every session (GOAWAY): health then says NOT_SERVING on this connection.
    this.#serve(streamExchange(stream, headers), what, peer, () => stream.session?.closed ?? true);
    return true;
  }

  #decide(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    grpc: boolean,
  ): Plan | "preflight" | undefined {
    if (this.#cors && headers.origin && Cors.isPreflight(method, headers)) return "preflight";
    const plan = planOf(method, path, headers, this.#methods, this.#transcoder, this.#enabled);
    return !plan || (plan.protocol === "grpc" && !grpc) ? undefined : plan;
  }

  #serve(
    ex: Exchange,
    what: Plan | "preflight",
    peer: PeerIdentity | undefined,
    draining: () => boolean = NEVER,
  ): void {
    const origin = ex.headers.origin;
    if (what === "preflight") {
      const p = (this.#cors as Cors).preflight(origin as string);
      ex.head(p.status, p.headers, p.body ? "body" : "end");
      void ex.end(p.body ? new TextEncoder().encode(p.body) : undefined);
      ex.body.resume();
      return;
    }
    const plan = what;
    const { stats, plane } = this.#o;
    stats.inc("weft_sidecar_converted_total", { protocol: plan.protocol });
    const ctx = this.#responseContext(origin);
    const fail = (failure: Failure) => {
      stats.inc("weft_sidecar_failed_total", { place: "sidecar-inbound", code: String(failure.code) });
      ex.body.resume();
      if (ex.headSent) ex.cut();
      else void writeError(ex, plan, failure, ctx);
    };
    if (plan.json && !plan.method && plan.protocol !== "grpc") {
      fail({
        code: Code.Unimplemented,
        status: 415,
        message: `${plan.rpcPath} is not in the converter's descriptors, so its JSON cannot be converted; use the proto codec or add the service's descriptors`,
        details: [],
      });
      return;
    }
    let headers: Headers;
    try {
      headers = grpcHeaders(plan, ex.headers);
    } catch (err) {
      fail(failureOf(err));
      return;
    }
    headers.delete(PEER_IDENTITY_HEADER);
    if (peer) headers.set(PEER_IDENTITY_HEADER, peer.spiffeId);
    const m = plan.method;
    const call = newCall({
      kind: m?.methodKind ?? "bidi_streaming",
      place: "sidecar-inbound",
      service: plane.service,
      namespace: plane.namespace,
      // The RPC, not the REST path: a policy written for the RPC holds however it is called.
      method: plan.rpcPath.slice(1),
      path: plan.rpcPath,
      httpMethod: "POST",
      headers,
      idempotent:
        m !== undefined &&
        (m.idempotency === Idempotency.NO_SIDE_EFFECTS || m.idempotency === Idempotency.IDEMPOTENT),
      source: peer,
      signal: ex.signal,
      body: { replayable: false, value: { plan, ex, draining } satisfies Pending },
    });
    plane.inbound(call, this.#terminal).then(
      (res: Settling) => {
        const body = res.body as UpstreamResponse | { failure: Failure } | undefined;
        if (isUpstream(body)) {
          writeResponse(ex, plan, body, ctx).then(
            (outcome) => res.settle?.(outcome),
            (err: unknown) => {
              const f = failureOf(err);
              fail(f);
              res.settle?.({ code: f.code, status: f.status ?? 502 });
            },
          );
          return;
        }
        // The call was refused before the app (a bad request), or a step answered by itself.
        fail(
          body && "failure" in body
            ? body.failure
            : {
                code: res.code ?? Code.Unknown,
                message: `${plan.rpcPath} was answered HTTP ${res.status} by a step of the chain`,
                details: [],
              },
        );
      },
      (err: unknown) => {
        if (ex.closed) return;
        fail(failureOf(err));
      },
    );
  }

  /** The chain's terminal: convert the body (now that the call is admitted), send gRPC to the app. */
  async #send(p: Pending, headers: Headers, signal: AbortSignal): Promise<Settling> {
    let body: Readable;
    try {
      body = await grpcBody(p.plan, p.ex.method, p.ex.path, p.ex.headers, p.ex.body, this.#request);
    } catch (err) {
      if (!(err instanceof ConvertError)) throw err;
      return settledResponse({ status: err.status, code: err.code, body: { failure: failureOf(err) } });
    }
    const out: OutgoingHttpHeaders = {};
    headers.forEach((value, name) => {
      out[name] = value;
    });
    const { app, pool } = this.#o;
    const path = p.plan.rpcPath;
    const up = this.#standard?.handles(path)
      ? await this.#standard.send(path, out, body, signal, p.draining)
      : await pool.send(app, { method: "POST", path, headers: out, body, signal });
    let settle!: (o: CallOutcome) => void;
    const settled = new Promise<CallOutcome>((r) => {
      settle = r;
    });
    return { status: up.status, headers: new Headers(), code: undefined, body: up, settled, settle };
  }

  #responseContext(origin: string | undefined): ResponseContext {
    return {
      transcoder: this.#transcoder,
      registry: this.#registry,
      cors: this.#cors?.response(origin),
      maxBodyBytes: this.#request.maxBodyBytes,
    };
  }
}

function isUpstream(body: unknown): body is UpstreamResponse {
  return typeof body === "object" && body !== null && "trailers" in body && "endStream" in body;
}

function failureOf(err: unknown): Failure {
  if (err instanceof ConvertError)
    return { code: err.code, status: err.status, message: err.message, details: [] };
  if (err instanceof MeshError) {
    return {
      code: err.code,
      message: err.reason,
      details: [],
      headers: { [ERROR_HEADER]: err.toHeader() },
    };
  }
  return { code: Code.Internal, message: (err as Error).message ?? String(err), details: [] };
}
