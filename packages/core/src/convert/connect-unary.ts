import { Code } from "@connectrpc/connect";
import { httpStatusFromCode } from "../errors/codes.ts";
import { errorFromJsonBytes, errorToJsonBytes } from "./connect-error-json.ts";
import { decodeFrames, encodeFrame, FLAG_COMPRESSED } from "./grpc-frame.ts";
import {
  errorFromTrailers,
  formatGrpcTimeout,
  GRPC_STATUS,
  parseGrpcTimeout,
  setTrailerStatus,
} from "./grpc-status.ts";
import type { GrpcResponse, HttpMessage } from "./grpc-web.ts";
import { ConvertError } from "./wire-error.ts";

/** A Connect unary response: HTTP status, headers (trailers as `trailer-` headers), body. */
export interface ConnectUnaryResponse extends HttpMessage {
  readonly status: number;
}

const HOP_HEADERS = ["te", "content-length", "connection", "transfer-encoding"];
const CONNECT_ONLY = [
  "connect-protocol-version",
  "connect-timeout-ms",
  "content-encoding",
  "accept-encoding",
];
const GRPC_ONLY = ["grpc-timeout", "grpc-encoding", "grpc-accept-encoding"];

/** `application/proto` -> `application/grpc+proto`; `application/json` -> `application/grpc+json`. */
function grpcTypeFromConnect(contentType: string | null): string {
  const media = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  const m = /^application\/([\w.-]+)$/.exec(media);
  if (!m || m[1]?.startsWith("connect")) {
    throw new ConvertError(
      Code.InvalidArgument,
      415,
      `content-type "${contentType}" is not a Connect unary type`,
    );
  }
  return `application/grpc+${m[1]}`;
}

/** `application/grpc(+codec)` -> `application/codec` (proto when there is no suffix). */
function connectTypeFromGrpc(contentType: string | null): string {
  const media = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  const m = /^application\/grpc(?:\+([\w.-]+))?$/.exec(media);
  if (!m) throw new ConvertError(Code.Internal, 502, `content-type "${contentType}" is not gRPC`);
  return `application/${m[1] ?? "proto"}`;
}

/** A Connect unary request (raw message body) as a gRPC request (one length-prefixed frame). */
export function connectUnaryRequestToGrpc(request: HttpMessage): HttpMessage {
  const encoding = request.headers.get("content-encoding");
  if (encoding && encoding !== "identity") {
    throw new ConvertError(
      Code.Unimplemented,
      415,
      `content-encoding "${encoding}" is not supported by the converter`,
    );
  }
  const headers = new Headers(request.headers);
  headers.set("content-type", grpcTypeFromConnect(request.headers.get("content-type")));
  const timeout = request.headers.get("connect-timeout-ms");
  for (const h of [...HOP_HEADERS, ...CONNECT_ONLY]) headers.delete(h);
  setGrpcTimeoutFromConnect(headers, timeout);
  headers.set("te", "trailers");
  return { headers, body: encodeFrame(0, request.body) };
}

/** A gRPC unary request as a Connect unary request; exactly one uncompressed frame is required. */
export function grpcRequestToConnectUnary(request: HttpMessage): HttpMessage {
  const headers = new Headers(request.headers);
  headers.set("content-type", connectTypeFromGrpc(request.headers.get("content-type")));
  const timeout = request.headers.get("grpc-timeout");
  for (const h of [...HOP_HEADERS, ...GRPC_ONLY]) headers.delete(h);
  if (timeout !== null) {
    const ms = parseGrpcTimeout(timeout);
    if (ms === undefined)
      throw new ConvertError(Code.InvalidArgument, 400, `grpc-timeout "${timeout}" is malformed`);
    headers.set("connect-timeout-ms", String(Math.ceil(ms)));
  }
  headers.set("connect-protocol-version", "1");
  return { headers, body: singleMessage(request.body, "request") };
}

/**
 * A gRPC unary response as a Connect unary response: status 200 with the message as the
 * body, or the error as Connect's JSON with its HTTP status. Trailers become `trailer-` headers.
 */
export function grpcResponseToConnectUnary(response: GrpcResponse): ConnectUnaryResponse {
  const trailersOnly = !response.trailers.has(GRPC_STATUS) && response.headers.has(GRPC_STATUS);
  const statusSource = trailersOnly ? response.headers : response.trailers;
  const error = errorFromTrailers(statusSource);
  const headers = new Headers();
  response.headers.forEach((value, name) => {
    if (!name.startsWith("grpc-") && !HOP_HEADERS.includes(name) && name !== "content-type")
      headers.append(name, value);
  });
  response.trailers.forEach((value, name) => {
    if (!name.startsWith("grpc-")) headers.append(`trailer-${name}`, value);
  });
  if (error) {
    headers.set("content-type", "application/json");
    return { status: httpStatusFromCode(error.code), headers, body: errorToJsonBytes(error) };
  }
  headers.set("content-type", connectTypeFromGrpc(response.headers.get("content-type")));
  return { status: 200, headers, body: singleMessage(response.body, "response") };
}

/** A Connect unary response as a gRPC response, the status and `trailer-` headers in the trailers. */
export function connectUnaryResponseToGrpc(response: ConnectUnaryResponse): GrpcResponse {
  const headers = new Headers();
  const trailers = new Headers();
  response.headers.forEach((value, name) => {
    if (name.startsWith("trailer-")) trailers.append(name.slice("trailer-".length), value);
    else if (!HOP_HEADERS.includes(name) && !CONNECT_ONLY.includes(name) && name !== "content-type") {
      headers.append(name, value);
    }
  });
  if (response.status === 200) {
    headers.set("content-type", grpcTypeFromConnect(response.headers.get("content-type")));
    setTrailerStatus(trailers, undefined);
    return { headers, body: encodeFrame(0, response.body), trailers };
  }
  headers.set("content-type", "application/grpc+proto");
  setTrailerStatus(trailers, errorFromJsonBytes(response.body, response.status));
  return { headers, body: new Uint8Array(0), trailers };
}

function singleMessage(body: Uint8Array, what: string): Uint8Array {
  const frames = decodeFrames(body);
  const status = what === "request" ? 400 : 502;
  const code = what === "request" ? Code.InvalidArgument : Code.Internal;
  if (frames.length !== 1) {
    throw new ConvertError(
      code,
      status,
      `unary gRPC ${what} has ${frames.length} messages, expected exactly 1`,
    );
  }
  const frame = frames[0] as { flags: number; data: Uint8Array };
  if ((frame.flags & FLAG_COMPRESSED) !== 0) {
    throw new ConvertError(
      Code.Unimplemented,
      status,
      `unary gRPC ${what} is compressed; the converter does not decompress`,
    );
  }
  return frame.data;
}

/**
 * A Connect caller's deadline (`connect-timeout-ms`) as gRPC's `grpc-timeout` on `headers`;
 * a malformed one is the caller's mistake (400), named.
 */
export function setGrpcTimeoutFromConnect(headers: Headers, connectTimeoutMs: string | null): void {
  if (connectTimeoutMs === null) return;
  if (!/^\d{1,10}$/.test(connectTimeoutMs)) {
    throw new ConvertError(
      Code.InvalidArgument,
      400,
      `connect-timeout-ms "${connectTimeoutMs}" is not a number of milliseconds`,
    );
  }
  headers.set("grpc-timeout", formatGrpcTimeout(Number(connectTimeoutMs)));
}
