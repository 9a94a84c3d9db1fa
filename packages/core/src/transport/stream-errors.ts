import { Code } from "@connectrpc/connect";
import type { Place } from "../call/call.ts";
import { MeshError, type Provenance } from "../errors/mesh-error.ts";
import { ConnectError } from "./connect-error.ts";
import { describe } from "./socket-connect.ts";

export const PLUGIN = "transport";

const RST_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

export const REFUSED_STREAM = 7;

export function rstName(code: number): string {
  return RST_NAMES[code] ?? `error ${code}`;
}

export function provenance(place: Place): Provenance {
  return { place, plugin: PLUGIN, policy: "" };
}

/** A connection attempt that failed: nothing was sent, so any call may go elsewhere. */
export function connectFailure(place: Place, key: string, err: unknown): MeshError {
  if (err instanceof MeshError) return err;
  const reason = err instanceof ConnectError ? err.message : `connect to ${key} failed: ${describe(err)}`;
  return new MeshError(Code.Unavailable, reason, provenance(place), { neverSent: true, cause: err });
}

/** How a stream ended without a complete response, as the client saw it. */
export interface StreamEnd {
  readonly key: string;
  readonly streamId: number | undefined;
  readonly rstCode: number | undefined;
  /** Last stream id of a GOAWAY the session received, if any. */
  readonly goawayLastStreamId: number | undefined;
  readonly error: unknown;
}

/**
 * A stream that failed. neverSent is claimed only when HTTP/2 proves the server did not
 * process the request: REFUSED_STREAM, a stream above the GOAWAY's last stream id, or a
 * stream that never got an id (never left this process).
 */
export function streamFailure(place: Place, end: StreamEnd): MeshError {
  const where = `stream ${end.streamId ?? "(unsent)"} to ${end.key}`;
  if (end.streamId === undefined) {
    return new MeshError(
      Code.Unavailable,
      `${where} failed before it was sent: ${describe(end.error)}`,
      provenance(place),
      { neverSent: true, cause: end.error },
    );
  }
  if (end.goawayLastStreamId !== undefined && end.streamId > end.goawayLastStreamId) {
    return new MeshError(
      Code.Unavailable,
      `${where} was not processed: the server sent GOAWAY with last stream ${end.goawayLastStreamId}`,
      provenance(place),
      { neverSent: true, cause: end.error },
    );
  }
  if (end.rstCode === REFUSED_STREAM) {
    return new MeshError(
      Code.Unavailable,
      `${where} was refused by the server (REFUSED_STREAM) before it was processed`,
      provenance(place),
      { neverSent: true, cause: end.error },
    );
  }
  // A session that died takes its streams with it (Node reports INTERNAL_ERROR on each):
  // the session's error says more than the code.
  const streamLevel = !end.error || (end.error as { code?: unknown }).code === "ERR_HTTP2_STREAM_ERROR";
  const why =
    streamLevel && end.rstCode !== undefined && end.rstCode !== 0
      ? `reset with ${rstName(end.rstCode)}`
      : `lost (${end.error ? describe(end.error) : "connection closed"})`;
  return new MeshError(Code.Unavailable, `${where} ${why} after the request was sent`, provenance(place), {
    neverSent: false,
    cause: end.error,
  });
}
