import { Code } from "@connectrpc/connect";
import type { Place } from "../call/call.ts";
import { codeFromName, codeName, httpStatusFromCode } from "./codes.ts";

/** Who failed a call: the place in the mesh, the plugin and the policy that decided. */
export interface Provenance {
  readonly place: Place;
  readonly plugin: string;
  /** The policy, e.g. `shop/inventory-reads` (a route) or `retry budget`; may be empty. */
  readonly policy: string;
}

/** The response header (and gRPC trailer) that carries a mesh error to the caller. */
export const ERROR_HEADER = "weft-error";

/**
 * Failure of a call decided by the mesh, not by the application. It says what a person can
 * act on ("no healthy endpoint for orders (3 ejected)"), and where it came from, so nobody
 * meets an opaque 503.
 */
export class MeshError extends Error {
  override readonly name = "MeshError";
  readonly code: Code;
  readonly reason: string;
  readonly provenance: Provenance;
  /**
   * True when the request provably never reached a server (connect failure, refused
   * stream): such a call can be retried even when it is not idempotent.
   */
  readonly neverSent: boolean;

  constructor(
    code: Code,
    reason: string,
    provenance: Provenance,
    options: { neverSent?: boolean; cause?: unknown } = {},
  ) {
    const where = [provenance.place, provenance.plugin, provenance.policy].filter(Boolean).join("/");
    super(`[${codeName(code)}] ${reason} (${where})`, { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.provenance = provenance;
    this.neverSent = options.neverSent ?? false;
  }

  get httpStatus(): number {
    return httpStatusFromCode(this.code);
  }

  /** The value of the `weft-error` header. */
  toHeader(): string {
    const p = this.provenance;
    return [
      `code=${codeName(this.code)}`,
      `place=${p.place}`,
      `plugin=${encodeURIComponent(p.plugin)}`,
      `policy=${encodeURIComponent(p.policy)}`,
      `reason=${encodeURIComponent(this.reason)}`,
    ].join("; ");
  }

  /** Reads a `weft-error` header back; undefined when it is absent or not one of ours. */
  static fromHeader(value: string | null): MeshError | undefined {
    if (!value) return undefined;
    const fields = new Map<string, string>();
    for (const part of value.split(";")) {
      const i = part.indexOf("=");
      if (i > 0) fields.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
    }
    const code = codeFromName(fields.get("code") ?? "");
    const place = fields.get("place") as Place | undefined;
    if (code === undefined || !place) return undefined;
    return new MeshError(code, fields.get("reason") ?? "", {
      place,
      plugin: fields.get("plugin") ?? "",
      policy: fields.get("policy") ?? "",
    });
  }
}

/** Turns anything thrown inside the chain into a MeshError attributed to `provenance`. */
export function asMeshError(err: unknown, provenance: Provenance): MeshError {
  if (err instanceof MeshError) return err;
  const e = err as { name?: string; message?: string } | undefined;
  if (e?.name === "AbortError" || e?.name === "TimeoutError") {
    return new MeshError(Code.Canceled, e.message ?? "canceled", provenance, { cause: err });
  }
  return new MeshError(Code.Internal, e?.message ?? String(err), provenance, { cause: err });
}
