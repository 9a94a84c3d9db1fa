import { BinaryReader, BinaryWriter, base64Decode, base64Encode, WireType } from "@bufbuild/protobuf/wire";
import type { Code } from "@connectrpc/connect";
import type { ErrorDetail, WireError } from "./wire-error.ts";

const TYPE_URL_PREFIX = "type.googleapis.com/";

/**
 * Encodes `google.rpc.Status {code=1, message=2, details=3 (google.protobuf.Any)}` as the
 * base64 value of gRPC's `grpc-status-details-bin` trailer.
 */
export function encodeStatusDetails(error: WireError): string {
  const w = new BinaryWriter();
  if ((error.code as number) !== 0) w.tag(1, WireType.Varint).int32(error.code);
  if (error.message) w.tag(2, WireType.LengthDelimited).string(error.message);
  for (const d of error.details) {
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(TYPE_URL_PREFIX + d.type);
    w.tag(2, WireType.LengthDelimited).bytes(d.value);
    w.join();
  }
  return base64Encode(w.finish(), "std_raw");
}

/** Decodes a `grpc-status-details-bin` value; throws when it is not a google.rpc.Status. */
export function decodeStatusDetails(value: string): WireError {
  const r = new BinaryReader(base64Decode(value.trim()));
  let code = 0;
  let message = "";
  const details: ErrorDetail[] = [];
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.Varint) code = r.int32();
    else if (no === 2 && wt === WireType.LengthDelimited) message = r.string();
    else if (no === 3 && wt === WireType.LengthDelimited) details.push(decodeAny(r.bytes()));
    else r.skip(wt, no);
  }
  return { code: code as Code, message, details };
}

function decodeAny(bytes: Uint8Array): ErrorDetail {
  const r = new BinaryReader(bytes);
  let typeUrl = "";
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) typeUrl = r.string();
    else if (no === 2 && wt === WireType.LengthDelimited) value = r.bytes();
    else r.skip(wt, no);
  }
  return { type: typeUrl.slice(typeUrl.lastIndexOf("/") + 1), value };
}
