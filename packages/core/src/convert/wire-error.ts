import type { JsonValue } from "@bufbuild/protobuf";
import type { Code } from "@connectrpc/connect";

/** An error detail as both wire formats carry it: a packed message and its type name. */
export interface ErrorDetail {
  /** Fully-qualified message name, e.g. `google.rpc.BadRequest` (no type URL prefix). */
  readonly type: string;
  readonly value: Uint8Array;
  /** Connect's optional JSON rendering of the detail, for people reading the error. */
  readonly debug?: JsonValue;
}

/** An RPC error independent of its wire format (gRPC trailers, Connect JSON, REST JSON). */
export interface WireError {
  readonly code: Code;
  readonly message: string;
  readonly details: readonly ErrorDetail[];
}

/**
 * Bad input to a conversion: the client's request cannot be converted. `status` is the HTTP
 * status to answer with (400 for bad values, 415 for an unsupported content type).
 */
export class ConvertError extends Error {
  override readonly name = "ConvertError";
  readonly code: Code;
  readonly status: number;

  constructor(code: Code, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}
