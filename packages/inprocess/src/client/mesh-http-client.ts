import { Code, ConnectError } from "@connectrpc/connect";
import type {
  UniversalClientFn,
  UniversalClientRequest,
  UniversalClientResponse,
} from "@connectrpc/connect/protocol";
import { concatBytes, type DataPlane, ERROR_HEADER, MeshError, newCall } from "@weft/core";
import type { MethodInfo } from "./method-table.ts";

/** Bodies larger than this are streamed, not buffered, and so never retried. */
const MAX_REPLAY_BYTES = 1 << 20;

/**
 * connect's HTTP client seam: every request a connect-es client makes runs through the
 * outbound chain of the data plane. connect keeps the protocol (framing, codecs, errors);
 * the mesh decides where each attempt goes and what happens when it fails.
 */
export function meshHttpClient(
  dataPlane: DataPlane,
  methods: ReadonlyMap<string, MethodInfo>,
  meshService: () => { service: string; namespace: string },
): UniversalClientFn {
  // connect asks for the same few URLs again and again: parse each once.
  const byUrl = new Map<string, { path: string; method: MethodInfo }>();
  return async (req: UniversalClientRequest): Promise<UniversalClientResponse> => {
    let known = byUrl.get(req.url);
    if (!known) {
      const path = new URL(req.url).pathname;
      const method = methods.get(path);
      if (!method)
        throw new ConnectError(`${path} is not a method of this client's service`, Code.Unimplemented);
      known = { path, method };
      byUrl.set(req.url, known);
    }
    const { path, method } = known;
    const target = meshService();
    const unaryRequest = method.kind === "unary" || method.kind === "server_streaming";
    const body = unaryRequest && req.body ? await collect(req.body) : req.body;
    // connect makes the request's headers for this request alone: the call takes them over.
    const call = newCall({
      ownHeaders: true,
      kind: method.kind,
      place: "client",
      service: target.service,
      namespace: target.namespace,
      method: method.name,
      path,
      httpMethod: req.method,
      headers: req.header,
      idempotent: method.idempotent,
      signal: req.signal,
      body: { replayable: body === undefined || body instanceof Uint8Array, value: body },
    });
    try {
      const res = await dataPlane.outbound(call, method.defaults);
      return res.body as UniversalClientResponse;
    } catch (e) {
      throw toConnectError(e);
    }
  };
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of body) {
    chunks.push(c);
    size += c.length;
    if (size > MAX_REPLAY_BYTES) return concatThen(chunks, body);
  }
  return concatBytes(chunks);
}

async function* concatThen(head: Uint8Array[], rest: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* head;
  yield* rest;
}

/** A mesh failure as the error a connect-es caller catches, with its provenance attached. */
export function toConnectError(e: unknown): unknown {
  if (!(e instanceof MeshError)) return e;
  const metadata = new Headers({ [ERROR_HEADER]: e.toHeader() });
  return new ConnectError(e.message, e.code, metadata, undefined, e);
}
