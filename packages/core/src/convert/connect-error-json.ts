import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import { codeFromHttpStatus, codeFromName, codeName } from "../errors/codes.ts";
import type { ErrorDetail, WireError } from "./wire-error.ts";

/** `{"code": "not_found", "message": "...", "details": [{"type", "value", "debug"}]}`, as Connect writes it. */
export function errorToJson(error: WireError): JsonObject {
  const json: JsonObject = { code: codeName(error.code) };
  if (error.message) json.message = error.message;
  if (error.details.length > 0) {
    json.details = error.details.map((d) => {
      const detail: JsonObject = { type: d.type, value: base64Encode(d.value, "std_raw") };
      if (d.debug !== undefined) detail.debug = d.debug;
      return detail;
    });
  }
  return json;
}

export function errorToJsonBytes(error: WireError): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(errorToJson(error)));
}

/**
 * Reads a Connect error body. A body that is not Connect's error JSON still yields an error,
 * its code taken from the HTTP status, as the Connect protocol specifies.
 */
export function errorFromJsonBytes(body: Uint8Array, httpStatus: number): WireError {
  const fallback: WireError = {
    code: codeFromHttpStatus(httpStatus) ?? Code.Unknown,
    message: `HTTP ${httpStatus}`,
    details: [],
  };
  let json: JsonValue;
  try {
    json = JSON.parse(new TextDecoder().decode(body)) as JsonValue;
  } catch {
    return fallback;
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) return fallback;
  const code = typeof json.code === "string" ? codeFromName(json.code) : undefined;
  if (code === undefined) return fallback;
  const details: ErrorDetail[] = [];
  if (Array.isArray(json.details)) {
    for (const d of json.details) {
      if (d === null || typeof d !== "object" || Array.isArray(d)) continue;
      if (typeof d.type !== "string" || typeof d.value !== "string") continue;
      try {
        details.push({
          type: d.type,
          value: base64Decode(d.value),
          ...(d.debug !== undefined && { debug: d.debug }),
        });
      } catch {
        // A detail that is not base64 is dropped: the code and message still reach the caller.
      }
    }
  }
  return { code, message: typeof json.message === "string" ? json.message : "", details };
}
