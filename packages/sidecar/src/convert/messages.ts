import type { Readable } from "node:stream";
import {
  type DescMessage,
  fromBinary,
  fromJsonString,
  type Registry,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ConvertError, concatBytes, encodeFrame, FLAG_COMPRESSED, GrpcFrameParser } from "@weft/core";

/** Reads a whole body, refusing (413) one larger than `max` bytes. */
export async function readAll(body: Readable, max: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) {
      body.resume();
      throw new ConvertError(Code.ResourceExhausted, 413, `${what} is larger than the ${max}-byte limit`);
    }
    chunks.push(chunk);
  }
  return concatBytes(chunks);
}

/** A JSON message as protobuf binary; a bad one is the caller's fault (400), naming the type. */
export function jsonToBinary(
  desc: DescMessage,
  json: Uint8Array,
  registry: Registry | undefined,
): Uint8Array {
  try {
    return toBinary(desc, fromJsonString(desc, new TextDecoder().decode(json), { registry }));
  } catch (err) {
    throw new ConvertError(
      Code.InvalidArgument,
      400,
      `request message is not valid JSON for ${desc.typeName}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A protobuf binary message from the app as JSON; a bad one is the app's fault (502). */
export function binaryToJson(
  desc: DescMessage,
  bytes: Uint8Array,
  registry: Registry | undefined,
): Uint8Array {
  try {
    return new TextEncoder().encode(toJsonString(desc, fromBinary(desc, bytes), { registry }));
  } catch (err) {
    throw new ConvertError(
      Code.Internal,
      502,
      `the app's ${desc.typeName} could not be written as JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Re-encodes each length-prefixed message of a stream (gRPC frames and Connect envelopes share
 * the format) with `convert`, keeping the flags. Compressed messages cannot be re-encoded.
 */
export async function* mapFrames(
  source: AsyncIterable<Uint8Array>,
  convert: (payload: Uint8Array) => Uint8Array,
): AsyncGenerator<Uint8Array> {
  const parser = new GrpcFrameParser();
  for await (const chunk of source) {
    parser.push(chunk);
    for (let f = parser.next(); f; f = parser.next()) {
      if ((f.flags & FLAG_COMPRESSED) !== 0) {
        throw new ConvertError(
          Code.Unimplemented,
          415,
          "a compressed JSON message cannot be converted; send it uncompressed",
        );
      }
      yield encodeFrame(f.flags, convert(f.data));
    }
  }
  parser.end();
}
