import { Code } from "@connectrpc/connect";
import { Base64StreamDecoder, Base64StreamEncoder } from "./base64-stream.ts";
import { concatBytes, encodeFrame, FLAG_TRAILER, type GrpcFrame, GrpcFrameParser } from "./grpc-frame.ts";
import { GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS } from "./grpc-status.ts";
import { ConvertError } from "./wire-error.ts";

/** A parsed gRPC or gRPC-Web content type. */
export interface GrpcContentType {
  readonly web: boolean;
  /** gRPC-Web text mode: the body is base64. */
  readonly text: boolean;
  /** `proto` or `json` (or another codec name); empty when the type has no suffix. */
  readonly codec: string;
}

const GRPC_TYPE = /^application\/grpc(-web(-text)?)?(?:\+([\w.-]+))?$/i;

/** Parses `application/grpc[+codec]`, `application/grpc-web[+codec]`, `application/grpc-web-text[+codec]`. */
export function parseGrpcContentType(contentType: string | null | undefined): GrpcContentType | undefined {
  const media = contentType?.split(";")[0]?.trim() ?? "";
  const m = GRPC_TYPE.exec(media);
  if (!m) return undefined;
  return { web: m[1] !== undefined, text: m[2] !== undefined, codec: (m[3] ?? "").toLowerCase() };
}

export function formatGrpcContentType(type: GrpcContentType): string {
  const base = type.web
    ? type.text
      ? "application/grpc-web-text"
      : "application/grpc-web"
    : "application/grpc";
  return type.codec ? `${base}+${type.codec}` : base;
}

/** `application/grpc-web(-text)(+codec)` to `application/grpc(+codec)`. */
export function grpcContentTypeFromWeb(contentType: string): string | undefined {
  const t = parseGrpcContentType(contentType);
  return t?.web ? formatGrpcContentType({ web: false, text: false, codec: t.codec }) : undefined;
}

/** `application/grpc(+codec)` to `application/grpc-web(+codec)`, or its text form. */
export function grpcWebContentTypeFromGrpc(contentType: string, text: boolean): string | undefined {
  const t = parseGrpcContentType(contentType);
  return t && !t.web ? formatGrpcContentType({ web: true, text, codec: t.codec }) : undefined;
}

/** Trailers as a gRPC-Web trailer frame's payload: `name: value\r\n` lines, names lower case. */
export function encodeTrailers(trailers: Headers): Uint8Array {
  let text = "";
  trailers.forEach((value, name) => {
    text += `${name}: ${value}\r\n`;
  });
  return new TextEncoder().encode(text);
}

export function decodeTrailers(payload: Uint8Array): Headers {
  const trailers = new Headers();
  for (const line of new TextDecoder().decode(payload).split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ConvertError(Code.Internal, 502, `gRPC-Web trailer line "${line}" has no name`);
    trailers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return trailers;
}

export function encodeTrailerFrame(trailers: Headers): Uint8Array {
  return encodeFrame(FLAG_TRAILER, encodeTrailers(trailers));
}

/** A complete HTTP message as the conversions below take and give it. */
export interface HttpMessage {
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export interface GrpcResponse extends HttpMessage {
  /** HTTP/2 trailers; empty for a trailers-only response (status in the headers). */
  readonly trailers: Headers;
}

const STATUS_FIELDS = [GRPC_STATUS, GRPC_MESSAGE, GRPC_STATUS_DETAILS];
const HOP_HEADERS = ["te", "content-length", "connection", "transfer-encoding"];

/** A gRPC-Web request (binary or text) as the gRPC request a gRPC server expects. */
export function grpcWebRequestToGrpc(request: HttpMessage): HttpMessage {
  const type = parseGrpcContentType(request.headers.get("content-type"));
  if (!type?.web) {
    throw new ConvertError(
      Code.InvalidArgument,
      415,
      `content-type "${request.headers.get("content-type")}" is not gRPC-Web`,
    );
  }
  const headers = new Headers(request.headers);
  for (const h of [...HOP_HEADERS, "x-grpc-web", "x-user-agent"]) headers.delete(h);
  headers.set("content-type", formatGrpcContentType({ web: false, text: false, codec: type.codec }));
  headers.set("te", "trailers");
  return { headers, body: type.text ? decodeText(request.body) : request.body };
}

/** A gRPC request as gRPC-Web, for a gRPC client talking to a gRPC-Web-only server. */
export function grpcRequestToGrpcWeb(request: HttpMessage, options: { text?: boolean } = {}): HttpMessage {
  const type = parseGrpcContentType(request.headers.get("content-type"));
  if (!type || type.web) {
    throw new ConvertError(
      Code.InvalidArgument,
      415,
      `content-type "${request.headers.get("content-type")}" is not gRPC`,
    );
  }
  const text = options.text ?? false;
  const headers = new Headers(request.headers);
  for (const h of HOP_HEADERS) headers.delete(h);
  headers.set("content-type", formatGrpcContentType({ web: true, text, codec: type.codec }));
  headers.set("x-grpc-web", "1");
  if (text) headers.set("accept", formatGrpcContentType({ web: true, text: true, codec: type.codec }));
  return { headers, body: text ? encodeText(request.body) : request.body };
}

/**
 * A gRPC response (data frames and HTTP/2 trailers) as a gRPC-Web response: the trailers
 * move into a final frame flagged 0x80. A trailers-only response's status moves from the
 * headers into that frame, so a gRPC-Web client always finds it in the body.
 */
export function grpcResponseToGrpcWeb(response: GrpcResponse, options: { text?: boolean } = {}): HttpMessage {
  const text = options.text ?? false;
  const type = parseGrpcContentType(response.headers.get("content-type"));
  const headers = new Headers(response.headers);
  for (const h of HOP_HEADERS) headers.delete(h);
  const trailers = new Headers(response.trailers);
  if (!trailers.has(GRPC_STATUS)) {
    for (const name of STATUS_FIELDS) {
      const value = headers.get(name);
      if (value !== null) trailers.set(name, value);
    }
  }
  for (const name of STATUS_FIELDS) headers.delete(name);
  headers.set("content-type", formatGrpcContentType({ web: true, text, codec: type?.codec ?? "proto" }));
  const body = concatBytes([response.body, encodeTrailerFrame(trailers)]);
  return { headers, body: text ? encodeText(body) : body };
}

/**
 * A gRPC-Web response as a gRPC response: the data frames stay the body, the trailer frame
 * becomes HTTP/2 trailers. A response with its status in the headers (trailers-only) keeps it
 * there. Throws when the body has frames after the trailers or no status anywhere.
 */
export function grpcWebResponseToGrpc(response: HttpMessage): GrpcResponse {
  const type = parseGrpcContentType(response.headers.get("content-type"));
  const reader = new GrpcWebBodyReader({ text: type?.text ?? false });
  const data = reader.push(response.body);
  reader.end();
  const headers = new Headers(response.headers);
  for (const h of HOP_HEADERS) headers.delete(h);
  headers.set(
    "content-type",
    formatGrpcContentType({ web: false, text: false, codec: type?.codec ?? "proto" }),
  );
  const trailers = reader.trailers ?? new Headers();
  if (!reader.trailers && !headers.has(GRPC_STATUS)) {
    throw new ConvertError(
      Code.Internal,
      502,
      "gRPC-Web response has no trailer frame and no grpc-status header",
    );
  }
  return { headers, body: concatBytes(data.map((f) => encodeFrame(f.flags, f.data))), trailers };
}

/**
 * Reads a gRPC-Web body as it streams in: message frames come out of `push`, the trailer
 * frame is kept in `trailers`. Text mode decodes base64 across any chunk boundary.
 */
export class GrpcWebBodyReader {
  readonly #parser = new GrpcFrameParser();
  readonly #base64: Base64StreamDecoder | undefined;
  #trailers: Headers | undefined;

  constructor(options: { text?: boolean } = {}) {
    this.#base64 = options.text ? new Base64StreamDecoder() : undefined;
  }

  get trailers(): Headers | undefined {
    return this.#trailers;
  }

  push(chunk: Uint8Array): GrpcFrame[] {
    this.#parser.push(this.#base64 ? this.#base64.push(chunk) : chunk);
    const frames: GrpcFrame[] = [];
    for (let f = this.#parser.next(); f; f = this.#parser.next()) {
      if (this.#trailers)
        throw new ConvertError(Code.Internal, 502, "gRPC-Web response has a frame after its trailers");
      if ((f.flags & FLAG_TRAILER) !== 0) this.#trailers = decodeTrailers(f.data);
      else frames.push(f);
    }
    return frames;
  }

  end(): void {
    this.#base64?.end();
    this.#parser.end();
  }
}

/**
 * Writes a gRPC-Web response body as it streams out: gRPC data passes through (base64 in
 * text mode, continuous across chunks), and `end` appends the trailer frame.
 */
export class GrpcWebBodyWriter {
  readonly #base64: Base64StreamEncoder | undefined;
  readonly #encoder = new TextEncoder();

  constructor(options: { text?: boolean } = {}) {
    this.#base64 = options.text ? new Base64StreamEncoder() : undefined;
  }

  push(grpcData: Uint8Array): Uint8Array {
    return this.#base64 ? this.#encoder.encode(this.#base64.push(grpcData)) : grpcData;
  }

  end(trailers: Headers): Uint8Array {
    const frame = encodeTrailerFrame(trailers);
    if (!this.#base64) return frame;
    return this.#encoder.encode(this.#base64.push(frame) + this.#base64.end());
  }
}

function decodeText(body: Uint8Array): Uint8Array {
  const decoder = new Base64StreamDecoder();
  const bytes = decoder.push(body);
  decoder.end();
  return bytes;
}

function encodeText(body: Uint8Array): Uint8Array {
  const encoder = new Base64StreamEncoder();
  return new TextEncoder().encode(encoder.push(body) + encoder.end());
}
