import type { FileRegistry } from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { DescriptorError } from "../convert/descriptors/descriptor-error.ts";
import { type ReflectionAsk, registryFromReflection } from "../convert/descriptors/reflection.ts";
import {
  ServerReflection as ReflectionV1,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ReflectionV1alpha,
  type ServerReflectionRequest as V1alphaRequest,
  ServerReflectionRequestSchema as V1alphaRequestSchema,
  ServerReflectionResponseSchema as V1alphaResponseSchema,
} from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AsyncQueue } from "./control-plane/async-queue.ts";

export interface ReflectionClientOptions {
  /**
   * The backend: a gRPC transport over HTTP/2 (`createGrpcTransport` of connect-node, with TLS
   * options when the backend needs them), or `baseUrl` for a plaintext (h2c) one.
   */
  readonly transport?: Transport;
  /** `http://127.0.0.1:50051`: used when no transport is given, and to name the server in errors. */
  readonly baseUrl?: string;
  /** Services to describe; all the server lists when empty. */
  readonly services?: readonly string[];
  /** Sent as `host` on each reflection request. */
  readonly host?: string;
  /** Bound on the whole exchange (default 10 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Reads a backend's protobuf descriptors through its gRPC server reflection service
 * (grpc.reflection.v1, or v1alpha when the server has only that) into a FileRegistry: one
 * ServerReflectionInfo stream, closed when done.
 */
export async function descriptorsFromReflection(options: ReflectionClientOptions): Promise<FileRegistry> {
  const origin = options.baseUrl ?? "reflection server";
  if (options.transport) return describe(options.transport, options, origin);
  if (!options.baseUrl) throw new DescriptorError(origin, "give a transport or a baseUrl");
  // Our own HTTP/2 session, closed when done: an idle one would keep the process alive.
  const sessionManager = new Http2SessionManager(options.baseUrl);
  try {
    return await describe(createGrpcTransport({ baseUrl: options.baseUrl, sessionManager }), options, origin);
  } finally {
    sessionManager.abort();
  }
}

async function describe(
  transport: Transport,
  options: ReflectionClientOptions,
  origin: string,
): Promise<FileRegistry> {
  const query = { origin, services: options.services, host: options.host };
  try {
    return await withStream(transport, "v1", options, origin, (ask) => registryFromReflection(ask, query));
  } catch (e) {
    if (!(e instanceof ConnectError && e.code === Code.Unimplemented)) throw wrap(origin, e);
  }
  try {
    return await withStream(transport, "v1alpha", options, origin, (ask) =>
      registryFromReflection(ask, query),
    );
  } catch (e) {
    if (e instanceof ConnectError && e.code === Code.Unimplemented) {
      throw new DescriptorError(
        origin,
        "the server has no gRPC reflection service (neither grpc.reflection.v1 nor v1alpha)",
        { cause: e },
      );
    }
    throw wrap(origin, e);
  }
}

function wrap(origin: string, e: unknown): Error {
  if (e instanceof DescriptorError) return e;
  const c = ConnectError.from(e);
  return new DescriptorError(origin, `reflection call failed: [${Code[c.code]}] ${c.rawMessage}`, {
    cause: e,
  });
}

/** Runs `use` with an `ask` over one ServerReflectionInfo stream of the given version. */
async function withStream<T>(
  transport: Transport,
  version: "v1" | "v1alpha",
  options: ReflectionClientOptions,
  origin: string,
  use: (ask: ReflectionAsk) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  const onAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const callOptions = { signal: abort.signal, timeoutMs: options.timeoutMs ?? 10_000 };
  let send: (request: ServerReflectionRequest) => void;
  let next: () => Promise<IteratorResult<ServerReflectionResponse>>;
  let close: () => void;
  if (version === "v1") {
    const requests = new AsyncQueue<ServerReflectionRequest>();
    const responses = createClient(ReflectionV1, transport)
      .serverReflectionInfo(requests, callOptions)
      [Symbol.asyncIterator]();
    send = (r) => requests.push(r);
    next = () => responses.next();
    close = () => requests.close();
  } else {
    // v1alpha has the same messages under another package: the bytes are re-read as the other type.
    const requests = new AsyncQueue<V1alphaRequest>();
    const responses = createClient(ReflectionV1alpha, transport)
      .serverReflectionInfo(requests, callOptions)
      [Symbol.asyncIterator]();
    send = (r) => requests.push(fromBinary(V1alphaRequestSchema, toBinary(ServerReflectionRequestSchema, r)));
    next = async () => {
      const r = await responses.next();
      if (r.done) return r;
      const value = fromBinary(ServerReflectionResponseSchema, toBinary(V1alphaResponseSchema, r.value));
      return { done: false, value };
    };
    close = () => requests.close();
  }
  const ask: ReflectionAsk = async (request) => {
    send(request);
    const r = await next();
    if (r.done) throw new DescriptorError(origin, "the reflection stream ended before answering");
    return r.value;
  };
  try {
    return await use(ask);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    close();
    abort.abort();
  }
}
