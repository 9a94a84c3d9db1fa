import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import { concatBytes } from "./byte-queue.ts";
import { ConvertError } from "./wire-error.ts";

/**
 * Decodes base64 arriving in chunks cut anywhere (gRPC-Web text mode). Input is decoded in
 * whole 4-character quanta; a padded quantum may be followed by more base64, because a
 * gRPC-Web text body may be several padded segments back to back (one per message).
 */
export class Base64StreamDecoder {
  #pending = "";

  push(chunk: Uint8Array | string): Uint8Array {
    const text = typeof chunk === "string" ? chunk : latin1(chunk);
    const all = this.#pending + text.replace(/[\r\n\t ]/g, "");
    const whole = all.length - (all.length % 4);
    this.#pending = all.slice(whole);
    return decodeQuanta(all.slice(0, whole));
  }

  /** Throws when the stream ended inside a quantum. */
  end(): void {
    if (this.#pending.length > 0) {
      throw new ConvertError(
        Code.InvalidArgument,
        400,
        `gRPC-Web text body ends with an incomplete base64 group "${this.#pending}"`,
      );
    }
  }
}

function decodeQuanta(text: string): Uint8Array {
  if (text.length === 0) return new Uint8Array(0);
  if (!/^[A-Za-z0-9+/=]*$/.test(text)) {
    throw new ConvertError(Code.InvalidArgument, 400, "gRPC-Web text body is not base64");
  }
  // Padding can only end a segment: split after every padded quantum and decode each part.
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let i = 3; i < text.length; i += 4) {
    if (text[i] === "=") {
      parts.push(decodeSegment(text.slice(from, i + 1)));
      from = i + 1;
    }
  }
  if (from < text.length) parts.push(decodeSegment(text.slice(from)));
  return concatBytes(parts);
}

function decodeSegment(segment: string): Uint8Array {
  // '=' may only be the last one or two characters of a segment.
  const body = segment.replace(/={1,2}$/, "");
  if (body.includes("="))
    throw new ConvertError(Code.InvalidArgument, 400, "gRPC-Web text body has misplaced padding");
  return base64Decode(segment);
}

/** Encodes bytes arriving in chunks as one continuous, padded base64 text. */
export class Base64StreamEncoder {
  #carry: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): string {
    const all = this.#carry.length === 0 ? chunk : join(this.#carry, chunk);
    const whole = all.length - (all.length % 3);
    this.#carry = all.slice(whole);
    return whole === 0 ? "" : base64Encode(all.subarray(0, whole), "std");
  }

  end(): string {
    const rest = this.#carry;
    this.#carry = new Uint8Array(0);
    return rest.length === 0 ? "" : base64Encode(rest, "std");
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}
