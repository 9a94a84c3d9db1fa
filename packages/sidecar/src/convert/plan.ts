import type { IncomingHttpHeaders } from "node:http";
import type { DescMethod } from "@bufbuild/protobuf";
import { parseGrpcContentType, type TranscodeMatch, type Transcoder } from "@weft/core";

/** The protocols a caller may speak to the converter; the app always gets gRPC. */
export type CallerProtocol = "rest" | "grpc" | "grpc-web" | "connect-unary" | "connect-stream";

/** How one request is to be converted. */
export interface Plan {
  readonly protocol: CallerProtocol;
  /** `/package.Service/Method`. */
  readonly rpcPath: string;
  /** The method's descriptor; undefined for an undescribed method called with the proto codec. */
  readonly method: DescMethod | undefined;
  /** REST only: the binding matched. */
  readonly match: TranscodeMatch | undefined;
  /** The caller's messages are JSON; they are re-encoded as protobuf binary for the app. */
  readonly json: boolean;
  /** gRPC-Web text mode (base64 body). */
  readonly text: boolean;
  /** Connect unary GET: the request message is in the query string. */
  readonly get: boolean;
}

export interface Enabled {
  readonly rest: boolean;
  readonly grpcWeb: boolean;
  readonly connect: boolean;
}

const RPC_PATH = /^\/[\w.]+\/\w+$/;
const CONNECT_UNARY = /^application\/(proto|json)(?:;|$)/i;
const CONNECT_STREAM = /^application\/connect\+(proto|json)(?:;|$)/i;

/**
 * Says which protocol a request speaks and which RPC it calls, or undefined when it is none
 * the converter takes (left to the caller's default handling).
 */
export function planOf(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  methods: ReadonlyMap<string, DescMethod>,
  transcoder: Transcoder | undefined,
  enabled: Enabled,
): Plan | undefined {
  const q = path.indexOf("?");
  const bare = q < 0 ? path : path.slice(0, q);
  const contentType = String(headers["content-type"] ?? "");
  const rpc = RPC_PATH.test(bare);
  const desc = methods.get(bare);
  const plan = (protocol: CallerProtocol, json: boolean, text = false, get = false): Plan => ({
    protocol,
    rpcPath: bare,
    method: desc,
    match: undefined,
    json,
    text,
    get,
  });
  if (rpc && method === "POST") {
    const grpc = parseGrpcContentType(contentType);
    if (grpc) {
      if (!grpc.web) return plan("grpc", grpc.codec === "json");
      return enabled.grpcWeb ? plan("grpc-web", grpc.codec === "json", grpc.text) : undefined;
    }
    if (enabled.connect) {
      const stream = CONNECT_STREAM.exec(contentType);
      if (stream) return plan("connect-stream", stream[1]?.toLowerCase() === "json");
      const unary = CONNECT_UNARY.exec(contentType);
      // A REST route can look like an RPC path (`POST /v1/orders` with JSON): an undescribed
      // path is Connect only when no binding claims it.
      const rest = desc || !enabled.rest ? undefined : transcoder?.match(method, path);
      if (unary && !rest) return plan("connect-unary", unary[1]?.toLowerCase() === "json");
    }
  }
  if (rpc && method === "GET" && enabled.connect && desc && /[?&]connect=v1(?:&|$)/.test(path)) {
    const encoding = new URLSearchParams(path.slice(q + 1)).get("encoding");
    return plan("connect-unary", encoding === "json", false, true);
  }
  if (!enabled.rest || !transcoder) return undefined;
  const match = transcoder.match(method, path);
  if (!match) return undefined;
  return { ...plan("rest", true), rpcPath: match.rpcPath, method: match.method, match };
}
