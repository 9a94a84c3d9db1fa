import type { Duration } from "@bufbuild/protobuf/wkt";

/** Milliseconds of a protobuf Duration; undefined when the field is unset. */
export function msFromDuration(d: Duration | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds) * 1000 + d.nanos / 1e6;
}
