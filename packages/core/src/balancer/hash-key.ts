import type { MeshCall } from "../call/call.ts";
import type { Random } from "./balancer.ts";
import { hashString } from "./hash.ts";

/**
 * The 32-bit hash a hash balancer places a call with: of the named header's value, or a
 * random one when the header is absent (the call then lands on a random endpoint, with
 * the table's weighting).
 */
export function callHash(call: MeshCall, header: string, random: Random): number {
  const value = header === "" ? null : call.headers.get(header);
  return value === null ? Math.floor(random() * 0x100000000) : hashString(value);
}
