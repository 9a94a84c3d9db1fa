import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { fromBinary, type Registry } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  type CallOutcome,
  ConvertError,
  codeFromHttpStatus,
  decodeFrames,
  encodeFrame,
  errorFromTrailers,
  errorToJson,
  errorToJsonBytes,
  GrpcWebBodyWriter,
  grpcResponseToConnectUnary,
  httpStatusFromCode,
  setTrailerStatus,
  type Transcoder,
  type WireError,
} from "@weft/core";
import { toHeaders } from "@weft/core/transport";
import { forwardableHeaders, forwardableTrailers } from "../http/headers.ts";
import type { UpstreamResponse } from "../http/upstream.ts";
import type { Exchange } from "./exchange.ts";
import { binaryToJson, mapFrames, readAll } from "./messages.ts";
import type { Plan } from "./plan.ts";

export interface ResponseContext {
  readonly transcoder: Transcoder | undefined;
  readonly registry: Registry | undefined;
  /** CORS headers for this request's origin, or undefined. */
  readonly cors: OutgoingHttpHeaders | undefined;
  readonly maxBodyBytes: number;
}

/** An error to answer with; `status` overrides the HTTP status the code maps to (400, 413, 415). */
export interface Failure extends WireError {
  readonly status?: number;
  /** Extra response headers (weft-error for a call the mesh refused). */
  readonly headers?: OutgoingHttpHeaders;
}

const END_STREAM = 0x02;
const STATUS_HEADERS = new Set(["grpc-status", "grpc-message", "grpc-status-details-bin"]);
const GRPC_FRAMING = new Set(["content-type", "content-length", "grpc-encoding", "grpc-accept-encoding"]);

/**
 * Writes the app's gRPC response in the caller's protocol and says how the call ended. Once
 * the head is out, a failure of a streaming response still reaches a gRPC-Web or Connect
 * caller as the stream's final status; other protocols are cut.
 */
export async function writeResponse(
  ex: Exchange,
  plan: Plan,
  up: UpstreamResponse,
  ctx: ResponseContext,
): Promise<CallOutcome> {
  const type = String(up.headers["content-type"] ?? "");
  if (up.status !== 200 || !type.startsWith("application/grpc")) {
    up.body.resume();
    const code = codeFromHttpStatus(up.status) ?? Code.Unknown;
    const failure = {
      code: up.status === 200 ? Code.Internal : code,
      message: `the app answered HTTP ${up.status} with content-type "${type}", not gRPC`,
      details: [],
    };
    await writeError(ex, plan, failure, ctx);
    return { code: failure.code, status: up.status };
  }
  const trailersOnly = up.endStream || up.headers["grpc-status"] !== undefined;
  if (trailersOnly) up.body.resume();
  const meta = metadata(up.headers);
  switch (plan.protocol) {
    case "grpc": {
      const head = { ...forwardableHeaders(up.headers), ...ctx.cors };
      if (trailersOnly) {
        ex.head(200, head, "end");
        return outcome(errorFromTrailers(toHeaders(up.headers)));
      }
      ex.head(200, head, "trailers");
      for await (const chunk of up.body as AsyncIterable<Uint8Array>) await ex.write(chunk);
      const trailers = forwardableTrailers(await up.trailers) ?? {};
      await ex.end(undefined, trailers);
      return outcome(errorFromTrailers(toHeaders(trailers as IncomingHttpHeaders)));
    }
    case "grpc-web":
    case "connect-stream":
      return streamed(ex, plan, up, trailersOnly, meta, ctx);
    case "connect-unary":
    case "rest": {
      const body = trailersOnly
        ? new Uint8Array(0)
        : await readAll(up.body as never, ctx.maxBodyBytes, `the app's response to ${plan.rpcPath}`);
      const trailers = toHeaders((trailersOnly ? {} : await up.trailers) as IncomingHttpHeaders);
      const headers = toHeaders(forwardableHeaders(up.headers) as IncomingHttpHeaders);
      if (plan.protocol === "connect-unary") {
        const r = grpcResponseToConnectUnary({ headers, body, trailers });
        let out = r.body;
        const head: OutgoingHttpHeaders = { ...Object.fromEntries(r.headers), ...ctx.cors };
        if (r.status === 200 && plan.json && plan.method) {
          out = binaryToJson(plan.method.output, out, ctx.registry);
          head["content-type"] = "application/json";
        }
        head["content-length"] = out.length;
        ex.head(r.status, head, "body");
        await ex.end(out);
        return {
          code: r.status === 200 ? (0 as Code) : errorFromTrailers(trailersOnly ? headers : trailers)?.code,
          status: r.status,
        };
      }
      const error = errorFromTrailers(trailersOnly ? headers : trailers);
      if (error) {
        await writeError(ex, plan, error, ctx);
        return outcome(error);
      }
      const transcoder = ctx.transcoder as Transcoder;
      const match = plan.match;
      const frames = decodeFrames(body);
      const first = frames[0];
      if (!match || frames.length !== 1 || !first) {
        throw new ConvertError(
          Code.Internal,
          502,
          `the app answered ${plan.rpcPath} with ${frames.length} messages; REST needs exactly 1`,
        );
      }
      const answer = transcoder.encodeResponse(match, fromBinary(match.method.output, first.data));
      ex.head(
        answer.status,
        { ...meta, "content-type": answer.contentType, "content-length": answer.body.length, ...ctx.cors },
        "body",
      );
      await ex.end(answer.body);
      return { code: 0 as Code, status: answer.status };
    }
  }
}

async function streamed(
  ex: Exchange,
  plan: Plan,
  up: UpstreamResponse,
  trailersOnly: boolean,
  meta: OutgoingHttpHeaders,
  ctx: ResponseContext,
): Promise<CallOutcome> {
  const web = plan.protocol === "grpc-web";
  const codec = plan.json ? "json" : "proto";
  const contentType = web
    ? `application/grpc-web${plan.text ? "-text" : ""}+${codec}`
    : `application/connect+${codec}`;
  ex.head(200, { ...meta, "content-type": contentType, ...ctx.cors }, "body");
  const writer = web ? new GrpcWebBodyWriter({ text: plan.text }) : undefined;
  let trailers: Headers;
  try {
    if (trailersOnly) trailers = statusOf(toHeaders(up.headers));
    else {
      const output = plan.method?.output;
      const body: AsyncIterable<Uint8Array> =
        plan.json && output
          ? mapFrames(up.body as AsyncIterable<Uint8Array>, (m) => binaryToJson(output, m, ctx.registry))
          : (up.body as AsyncIterable<Uint8Array>);
      for await (const chunk of body) {
        if (ex.closed) break;
        await ex.write(writer ? writer.push(chunk) : chunk);
      }
      trailers = toHeaders(forwardableTrailers(await up.trailers) as IncomingHttpHeaders);
    }
  } catch (err) {
    // The head is out: the stream's final status is the only place left to say what failed.
    const e =
      err instanceof ConvertError ? err : new ConvertError(Code.Unavailable, 502, (err as Error).message);
    trailers = setTrailerStatus(new Headers(), { code: e.code, message: e.message, details: [] });
  }
  const error = errorFromTrailers(trailers);
  await ex.end(writer ? writer.end(trailers) : endStream(error, trailers));
  return outcome(error);
}

/**
 * Answers with an error in the caller's protocol: REST and Connect unary as JSON with the
 * code's HTTP status, gRPC-Web and Connect streaming as HTTP 200 with the status at the end
 * of the body (a browser reads no trailers), gRPC as a trailers-only response.
 */
export async function writeError(
  ex: Exchange,
  plan: Plan,
  failure: Failure,
  ctx: ResponseContext,
): Promise<void> {
  const extra = { ...failure.headers, ...ctx.cors };
  const status = failure.status ?? httpStatusFromCode(failure.code);
  switch (plan.protocol) {
    case "rest":
    case "connect-unary": {
      const body = errorToJsonBytes(failure);
      ex.head(
        status,
        { "content-type": "application/json", "content-length": body.length, ...extra },
        "body",
      );
      await ex.end(body);
      return;
    }
    case "grpc": {
      const t = setTrailerStatus(new Headers(), failure);
      ex.head(200, { "content-type": "application/grpc", ...Object.fromEntries(t), ...extra }, "end");
      return;
    }
    case "grpc-web":
    case "connect-stream":
      await streamed(
        ex,
        plan,
        {
          status: 200,
          headers: Object.fromEntries(setTrailerStatus(new Headers(), failure)),
          body: emptyBody(),
          trailers: Promise.resolve({}),
          endStream: true,
        },
        true,
        extra,
        ctx,
      );
  }
}

function emptyBody(): NodeJS.ReadableStream {
  return { resume() {} } as NodeJS.ReadableStream;
}

/** Connect's end-of-stream message: the error, if any, and the trailers as metadata. */
function endStream(error: WireError | undefined, trailers: Headers): Uint8Array {
  const metadata: Record<string, string[]> = {};
  trailers.forEach((value, name) => {
    if (STATUS_HEADERS.has(name)) return;
    metadata[name] = [...(metadata[name] ?? []), value];
  });
  const json = error ? { error: errorToJson(error), metadata } : { metadata };
  return encodeFrame(END_STREAM, new TextEncoder().encode(JSON.stringify(json)));
}

/** The response's metadata for the caller: the app's headers without gRPC framing and status. */
function metadata(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out = forwardableHeaders(headers);
  for (const name of Object.keys(out))
    if (STATUS_HEADERS.has(name) || GRPC_FRAMING.has(name)) delete out[name];
  return out;
}

function statusOf(headers: Headers): Headers {
  const out = new Headers();
  for (const name of STATUS_HEADERS) {
    const v = headers.get(name);
    if (v !== null) out.set(name, v);
  }
  return out;
}

function outcome(error: WireError | undefined): CallOutcome {
  return { code: error ? error.code : (0 as Code), status: 200 };
}
