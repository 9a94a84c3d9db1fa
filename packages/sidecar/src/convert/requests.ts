import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { type Registry, toBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import {
  Base64StreamDecoder,
  ConvertError,
  connectUnaryRequestToGrpc,
  encodeFrame,
  setGrpcTimeoutFromConnect,
  type Transcoder,
} from "@weft/core";
import { toHeaders } from "@weft/core/transport";
import { forwardableHeaders } from "../http/headers.ts";
import { jsonToBinary, mapFrames, readAll } from "./messages.ts";
import type { Plan } from "./plan.ts";

const GRPC_PROTO = "application/grpc+proto";
// Headers that describe the caller's protocol or body, not metadata for the app.
const PROTOCOL_HEADERS = [
  "content-length",
  "content-encoding",
  "accept-encoding",
  "accept",
  "x-grpc-web",
  "x-user-agent",
  "connect-protocol-version",
  "connect-timeout-ms",
  "connect-content-encoding",
  "connect-accept-encoding",
  // The app must not compress: a browser reads no grpc-encoding, and JSON cannot be re-encoded.
  "grpc-accept-encoding",
];

/** The gRPC request head for the app: the caller's metadata, gRPC's framing headers. */
export function grpcHeaders(plan: Plan, incoming: IncomingHttpHeaders): Headers {
  const headers = toHeaders(forwardableHeaders(incoming) as IncomingHttpHeaders);
  if (plan.protocol === "grpc") return headers;
  const timeout = headers.get("connect-timeout-ms");
  for (const h of PROTOCOL_HEADERS) headers.delete(h);
  setGrpcTimeoutFromConnect(headers, timeout);
  headers.set("content-type", GRPC_PROTO);
  headers.set("te", "trailers");
  return headers;
}

export interface RequestContext {
  readonly transcoder: Transcoder | undefined;
  readonly registry: Registry | undefined;
  readonly maxBodyBytes: number;
}

/**
 * The gRPC request body for the app, from the caller's body: streamed through for gRPC,
 * gRPC-Web and Connect streaming (re-encoded message by message when JSON), read whole for
 * REST and Connect unary. Throws ConvertError for a body that cannot be converted.
 */
export async function grpcBody(
  plan: Plan,
  method: string,
  path: string,
  incoming: IncomingHttpHeaders,
  body: Readable,
  ctx: RequestContext,
): Promise<Readable> {
  const input = plan.method?.input;
  switch (plan.protocol) {
    case "grpc":
      return body;
    case "grpc-web":
    case "connect-stream": {
      let source: AsyncIterable<Uint8Array> = body;
      if (plan.text) source = base64Chunks(body);
      if (plan.json && input) source = mapFrames(source, (m) => jsonToBinary(input, m, ctx.registry));
      return source === body ? body : Readable.from(source, { objectMode: false });
    }
    case "connect-unary": {
      if (plan.get) return Readable.from([encodeFrame(0, connectGetMessage(plan, path, ctx.registry))]);
      const raw = await readAll(body, ctx.maxBodyBytes, `request body of ${plan.rpcPath}`);
      const converted = connectUnaryRequestToGrpc({ headers: toHeaders(incoming), body: raw });
      if (!plan.json || !input) return Readable.from([converted.body]);
      return Readable.from([encodeFrame(0, jsonToBinary(input, raw, ctx.registry))]);
    }
    case "rest": {
      const { transcoder } = ctx;
      const match = plan.match;
      if (!transcoder || !match) throw new Error("a REST plan without its binding");
      transcoder.refuseUnservable(match, incoming["content-encoding"]);
      const raw = await readAll(
        body,
        ctx.maxBodyBytes,
        `request body of ${method} ${match.binding.template.template}`,
      );
      const q = path.indexOf("?");
      const message = transcoder.decodeRequest(
        match,
        q < 0 ? "" : path.slice(q + 1),
        raw,
        incoming["content-type"],
      );
      return Readable.from([encodeFrame(0, toBinary(match.method.input, message))]);
    }
  }
}

async function* base64Chunks(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const decoder = new Base64StreamDecoder();
  for await (const chunk of body) {
    const bytes = decoder.push(chunk);
    if (bytes.length > 0) yield bytes;
  }
  decoder.end();
}

/** Connect's GET form: `?connect=v1&encoding=proto|json&message=...[&base64=1]`. */
function connectGetMessage(plan: Plan, path: string, registry: Registry | undefined): Uint8Array {
  const params = new URLSearchParams(path.slice(path.indexOf("?") + 1));
  const compression = params.get("compression");
  if (compression && compression !== "identity") {
    throw new ConvertError(Code.Unimplemented, 415, `compression "${compression}" is not supported`);
  }
  const text = params.get("message") ?? "";
  let bytes: Uint8Array;
  try {
    bytes = params.get("base64") === "1" ? base64Decode(text) : new TextEncoder().encode(text);
  } catch (err) {
    throw new ConvertError(Code.InvalidArgument, 400, "query parameter message is not base64", {
      cause: err,
    });
  }
  const input = plan.method?.input;
  return plan.json && input ? jsonToBinary(input, bytes, registry) : bytes;
}
