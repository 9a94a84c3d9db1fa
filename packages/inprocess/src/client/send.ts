import { Code } from "@connectrpc/connect";
import type { UniversalClientResponse } from "@connectrpc/connect/protocol";
import {
  type CallOutcome,
  codeFromHttpStatus,
  type Handler,
  type MeshCall,
  MeshError,
  type MeshResponse,
  type Place,
  settledResponse,
} from "@weft/core";
import {
  grpcStatus,
  requestForCall,
  type TransportClient,
  type TransportResponse,
} from "@weft/core/transport";

/**
 * The terminal of the in-process outbound chain: sends one attempt to the endpoint the
 * balancer picked, over the pooled mesh wire, and answers with connect's universal response.
 * Unary responses are read whole first, so the retry step can judge their gRPC status.
 */
export function meshSend(client: TransportClient, place: Place): Handler {
  return async (call: MeshCall): Promise<MeshResponse> => {
    if (!call.endpoint) {
      throw new MeshError(Code.Internal, "no endpoint was picked for the call", {
        place,
        plugin: "transport",
        policy: "",
      });
    }
    const endpoint = call.endpoint;
    const res = await requestForCall(client, call);
    if (call.kind === "unary" || call.kind === "client_streaming")
      return buffered(res, endpoint, call.signal, place);
    return streamed(res, endpoint, call.signal, place);
  };
}

async function buffered(
  res: TransportResponse,
  endpoint: MeshResponse["endpoint"],
  signal: AbortSignal,
  place: Place,
): Promise<MeshResponse> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of res.body) chunks.push(chunk as Uint8Array);
  } catch (e) {
    throw await whyCut(res, signal, e, endpoint, place);
  }
  const trailer = await res.trailers;
  const code = statusCode(res.status, res.headers, trailer);
  const universal: UniversalClientResponse = {
    status: res.status,
    header: res.headers,
    body: replay(chunks),
    trailer,
  };
  return settledResponse({
    status: res.status,
    code,
    headers: res.headers,
    ownHeaders: true,
    body: universal,
    endpoint,
  });
}

function streamed(
  res: TransportResponse,
  endpoint: MeshResponse["endpoint"],
  signal: AbortSignal,
  place: Place,
): MeshResponse {
  const trailer = new Headers();
  const early = statusCode(res.status, res.headers, undefined);
  const settled: Promise<CallOutcome> = res.trailers.then((t) => {
    t.forEach((v, k) => {
      trailer.set(k, v);
    });
    return { code: statusCode(res.status, res.headers, t), status: res.status };
  });
  settled.catch(() => {});
  async function* body(): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of res.body) yield chunk as Uint8Array;
    } catch (e) {
      throw await whyCut(res, signal, e, endpoint, place);
    }
    // connect reads the trailer once the body ends: they must be in place by then.
    await settled;
  }
  const universal: UniversalClientResponse = {
    status: res.status,
    header: res.headers,
    body: body(),
    trailer,
  };
  return { status: res.status, headers: res.headers, code: early, body: universal, endpoint, settled };
}

/**
 * Why a response body stopped early. The iterator only says "premature close"; the stream's
 * own failure (a reset, a GOAWAY: a MeshError whose code retries understand) or the reason
 * the call was aborted (a deadline, a per-try timeout, the caller leaving) says what happened.
 */
async function whyCut(
  res: TransportResponse,
  signal: AbortSignal,
  iteratorError: unknown,
  endpoint: MeshResponse["endpoint"],
  place: Place,
): Promise<unknown> {
  const failure = await res.trailers.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (failure !== undefined) return failure;
  if (signal.aborted) return signal.reason;
  // The stream closed before its body ended and nothing says why: the answer is lost, as a
  // reset stream's is (UNAVAILABLE, so an idempotent call may be tried again), not INTERNAL.
  if ((iteratorError as { code?: unknown }).code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new MeshError(
      Code.Unavailable,
      `the response from ${endpoint?.key ?? "the endpoint"} stopped before its end`,
      { place, plugin: "transport", policy: "" },
      { cause: iteratorError },
    );
  }
  return iteratorError;
}

async function* replay(chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield c;
}

/**
 * The RPC's code (0 for success): grpc-status from the trailers, or from the headers of a
 * trailers-only response; else, for Connect, from the HTTP status.
 */
export function statusCode(status: number, headers: Headers, trailer: Headers | undefined): Code {
  return grpcStatus(headers, trailer) ?? codeFromHttpStatus(status) ?? (0 as Code);
}
