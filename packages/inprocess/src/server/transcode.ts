import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, readAllBytes } from "@connectrpc/connect/protocol";
import {
  type CallOutcome,
  ConvertError,
  createTranscoder,
  type DataPlane,
  errorFromJsonBytes,
  type Handler,
  MeshError,
  type MeshResponse,
  newCall,
  type TranscodedResponse,
  type TranscodeMatch,
  type Transcoder,
} from "@weft/core";
import type { PeerInfo } from "@weft/core/transport";
import type { InFlight, Route } from "./inbound-handler.ts";

/** A REST request body larger than this is refused (413) before it reaches the handler. */
const MAX_REST_BODY_BYTES = 4 * 1024 * 1024;
/** Connect's error bodies are small; a handler's reply is read up to the RPC limit. */
const MAX_RPC_RESPONSE_BYTES = 0xffffffff;

const STREAM_CLOSED = new DOMException("the stream of the REST call closed", "AbortError");

/** What the chain's terminal needs of one transcoded request, carried in the call's body. */
interface RestBody {
  readonly stream: ServerHttp2Stream;
  readonly match: TranscodeMatch;
  readonly route: Route;
  readonly transcoder: Transcoder;
  readonly query: string;
}

type SettlingResponse = MeshResponse & { settle: (o: CallOutcome) => void };

/**
 * REST/JSON transcoding for the in-process server: a request whose path is no RPC route but
 * matches a `google.api.http` binding of a served service becomes a call of that RPC. It runs
 * through the same inbound chain as a gRPC or Connect call (the MeshCall names the RPC, so
 * authorization, limits and telemetry see no difference), then the RPC's connect-es handler is
 * invoked with a Connect unary request synthesized from the transcoded message.
 */
export class RestTranscoding {
  readonly #dataPlane: DataPlane;
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #inFlight: InFlight;
  readonly #services = new Map<string, DescService>();
  #transcoder: Transcoder | undefined;
  readonly #terminal: Handler = (call) => invoke(call.body.value as RestBody, call.headers, call.signal);

  constructor(dataPlane: DataPlane, routes: ReadonlyMap<string, Route>, inFlight: InFlight) {
    this.#dataPlane = dataPlane;
    this.#routes = routes;
    this.#inFlight = inFlight;
  }

  /**
   * Takes in the annotations of a service about to be served. Throws, naming the method, when
   * an annotation is malformed or binds a route another served method already binds.
   */
  served(service: DescService): void {
    const services = new Map(this.#services).set(service.typeName, service);
    const transcoder = createTranscoder([...services.values()]);
    this.#services.set(service.typeName, service);
    this.#transcoder = transcoder.bindings.length > 0 ? transcoder : undefined;
  }

  /** Answers the request when it matches a binding; false leaves it to the caller (a 404). */
  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, header: Headers, peer: PeerInfo): boolean {
    const transcoder = this.#transcoder;
    if (!transcoder) return false;
    const httpMethod = String(headers[":method"] ?? "GET");
    const path = String(headers[":path"] ?? "/");
    const match = transcoder.match(httpMethod, path);
    if (!match) return false;
    const route = this.#routes.get(match.rpcPath);
    if (!route) return false;
    const inFlight = this.#inFlight;
    inFlight.enter();
    const controller = new AbortController();
    stream.once("close", () => {
      controller.abort(STREAM_CLOSED);
      inFlight.leave();
    });
    const q = path.indexOf("?");
    const call = newCall({
      ownHeaders: true,
      kind: route.method.kind,
      place: "server",
      service: this.#dataPlane.service,
      namespace: this.#dataPlane.namespace,
      method: route.method.name,
      // The RPC's path, not the REST one: a policy written for the RPC holds however it is called.
      path: match.rpcPath,
      httpMethod,
      headers: header,
      idempotent: route.method.idempotent,
      source: peer.identity,
      signal: controller.signal,
      body: {
        replayable: false,
        value: { stream, match, route, transcoder, query: q < 0 ? "" : path.slice(q + 1) } satisfies RestBody,
      },
    });
    this.#dataPlane.inbound(call, this.#terminal).then(
      (res) => {
        // An interceptor may answer by itself; its answer is re-encoded as a REST error.
        const answer = isTranscoded(res.body)
          ? res.body
          : transcoder.encodeError(res.code ?? Code.Unknown, `${match.rpcPath} answered HTTP ${res.status}`);
        send(stream, answer, (res as Partial<SettlingResponse>).settle, res);
      },
      (err: unknown) => {
        if (!(err instanceof MeshError)) {
          if (!stream.destroyed) stream.close(8 /* CANCEL */);
          return;
        }
        send(stream, transcoder.encodeError(err.code, err.reason), undefined, undefined);
      },
    );
    return true;
  }
}

/** The chain's terminal: decode, call the connect-es handler as a Connect unary client would, encode. */
async function invoke(body: RestBody, header: Headers, signal: AbortSignal): Promise<SettlingResponse> {
  const { match, transcoder } = body;
  let answer: TranscodedResponse;
  let code = 0 as Code;
  try {
    answer = await callHandler(body, header, signal);
    if (answer.status !== 200) code = codeOfError(answer);
  } catch (err) {
    if (err instanceof ConvertError) {
      answer = { ...transcoder.encodeError(err.code, err.message), status: err.status };
      code = err.code;
    } else {
      const e = ConnectError.from(err);
      answer = transcoder.encodeError(e.code, `${match.rpcPath}: ${e.rawMessage}`);
      code = e.code;
    }
  }
  let settle!: (o: CallOutcome) => void;
  const settled = new Promise<CallOutcome>((r) => {
    settle = r;
  });
  return {
    status: answer.status,
    headers: new Headers({ "content-type": answer.contentType }),
    code,
    body: answer,
    settled,
    settle,
  };
}

async function callHandler(
  body: RestBody,
  header: Headers,
  signal: AbortSignal,
): Promise<TranscodedResponse> {
  const { stream, match, route, transcoder, query } = body;
  const { method } = match;
  transcoder.refuseUnservable(match, header.get("content-encoding"));
  const raw = await readAllBytes(stream, MAX_REST_BODY_BYTES, header.get("content-length")).catch(
    (err: unknown) => {
      const e = ConnectError.from(err);
      if (e.code !== Code.ResourceExhausted) throw err;
      throw new ConvertError(
        Code.ResourceExhausted,
        413,
        `request body of ${match.binding.httpMethod} ${match.binding.template.template}: ${e.rawMessage}`,
        { cause: err },
      );
    },
  );
  const request = transcoder.decodeRequest(match, query, raw, header.get("content-type"));
  // The caller's headers reach the handler (its metadata), minus those describing the REST body.
  const rpcHeader = new Headers(header);
  rpcHeader.delete("content-length");
  rpcHeader.delete("content-encoding");
  rpcHeader.delete("accept-encoding");
  rpcHeader.set("content-type", "application/proto");
  rpcHeader.set("connect-protocol-version", "1");
  const response = await route.handler({
    httpVersion: "2.0",
    url: `https://mesh${match.rpcPath}`,
    method: "POST",
    header: rpcHeader,
    body: createAsyncIterable([toBinary(method.input, request)]),
    signal,
  });
  const bytes = response.body
    ? await readAllBytes(response.body, MAX_RPC_RESPONSE_BYTES, response.header?.get("content-length"))
    : new Uint8Array(0);
  if (response.status === 200) return transcoder.encodeResponse(match, fromBinary(method.output, bytes));
  const error = errorFromJsonBytes(bytes, response.status);
  return transcoder.encodeError(error.code, error.message, error.details);
}

function isTranscoded(body: unknown): body is TranscodedResponse {
  return (
    typeof body === "object" &&
    body !== null &&
    (body as TranscodedResponse).body instanceof Uint8Array &&
    typeof (body as TranscodedResponse).status === "number"
  );
}

/** The code of an error the transcoder encoded: its JSON body names it, as Connect's does. */
function codeOfError(answer: TranscodedResponse): Code {
  return errorFromJsonBytes(answer.body, answer.status).code;
}

function send(
  stream: ServerHttp2Stream,
  answer: TranscodedResponse,
  settle: ((o: CallOutcome) => void) | undefined,
  res: MeshResponse | undefined,
): void {
  const outcome: CallOutcome = { code: res?.code, status: answer.status };
  if (stream.destroyed) {
    settle?.({ code: undefined, status: 499 });
    return;
  }
  stream.respond({
    ":status": answer.status,
    "content-type": answer.contentType,
    "content-length": answer.body.length,
  });
  stream.end(answer.body, () => settle?.(outcome));
}
