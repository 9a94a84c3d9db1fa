import type { DescMethod } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { concatBytes } from "./byte-queue.ts";

/** Field number of the `google.api.http` extension of `google.protobuf.MethodOptions`. */
export const HTTP_RULE_EXTENSION = 72295728;

/** A `google.api.HttpRule`, read without generated code for google/api. */
export interface HttpRule {
  readonly selector: string;
  /** Upper-case HTTP method: GET, PUT, POST, DELETE, PATCH or a custom kind; empty when none is set. */
  readonly method: string;
  /** The path template; empty when no pattern is set. */
  readonly path: string;
  /** `*`, a field name, or empty for no body. */
  readonly body: string;
  /** A field name of the response, or empty for the whole response. */
  readonly responseBody: string;
  readonly additionalBindings: readonly HttpRule[];
}

/**
 * The `google.api.http` rule of a method, or undefined when it has none. protobuf-es keeps
 * extensions it was not given a registry for as unknown fields of the options message, so the
 * rule is decoded from there; several occurrences of the field are merged, as the protobuf
 * binary format requires for a message field.
 */
export function readHttpRule(method: DescMethod): HttpRule | undefined {
  const unknown = method.proto.options?.$unknown;
  if (!unknown) return undefined;
  const parts: Uint8Array[] = [];
  for (const field of unknown) {
    if (field.no !== HTTP_RULE_EXTENSION) continue;
    if (field.wireType !== WireType.LengthDelimited) {
      throw new Error(
        `${method.parent.typeName}.${method.name}: option google.api.http has wire type ${field.wireType}, expected a message`,
      );
    }
    parts.push(new BinaryReader(field.data).bytes());
  }
  if (parts.length === 0) return undefined;
  return decodeHttpRule(concatBytes(parts));
}

/** Decodes a serialized `google.api.HttpRule`. */
export function decodeHttpRule(bytes: Uint8Array): HttpRule {
  const reader = new BinaryReader(bytes);
  let selector = "";
  let method = "";
  let path = "";
  let body = "";
  let responseBody = "";
  const additionalBindings: HttpRule[] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    const expectString = no >= 1 && no <= 12 && no !== 9 && no !== 10;
    if (expectString && wireType !== WireType.LengthDelimited) {
      throw new Error(`google.api.HttpRule field ${no} has wire type ${wireType}, expected length-delimited`);
    }
    switch (no) {
      case 1:
        selector = reader.string();
        break;
      case 2:
        method = "GET";
        path = reader.string();
        break;
      case 3:
        method = "PUT";
        path = reader.string();
        break;
      case 4:
        method = "POST";
        path = reader.string();
        break;
      case 5:
        method = "DELETE";
        path = reader.string();
        break;
      case 6:
        method = "PATCH";
        path = reader.string();
        break;
      case 8: {
        const custom = decodeCustomPattern(reader.bytes());
        method = custom.kind.toUpperCase();
        path = custom.path;
        break;
      }
      case 7:
        body = reader.string();
        break;
      case 12:
        responseBody = reader.string();
        break;
      case 11:
        additionalBindings.push(decodeHttpRule(reader.bytes()));
        break;
      default:
        reader.skip(wireType, no);
    }
  }
  return { selector, method, path, body, responseBody, additionalBindings };
}

function decodeCustomPattern(bytes: Uint8Array): { kind: string; path: string } {
  const reader = new BinaryReader(bytes);
  let kind = "";
  let path = "";
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no === 1 && wireType === WireType.LengthDelimited) kind = reader.string();
    else if (no === 2 && wireType === WireType.LengthDelimited) path = reader.string();
    else reader.skip(wireType, no);
  }
  return { kind, path };
}
