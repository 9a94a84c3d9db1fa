import { Code, ConnectError } from "@connectrpc/connect";
import { parsePeerIdentity, SpiffeIdError } from "@weft/core";
import type { ConfigStore, RevocationRecord } from "../store/config-store.ts";

/**
 * `input` as a workload identity of this CA (`spiffe://<trustDomain>/ns/<ns>/sa/<sa>`, the
 * only form it signs); throws INVALID_ARGUMENT naming the ID and what is wrong with it.
 */
export function revocableIdentity(input: string, trustDomain: string): string {
  let parsed: ReturnType<typeof parsePeerIdentity>;
  try {
    parsed = parsePeerIdentity(input);
  } catch (e) {
    if (e instanceof SpiffeIdError) throw new ConnectError(e.message, Code.InvalidArgument);
    throw e;
  }
  if (parsed.trustDomain !== trustDomain)
    throw new ConnectError(
      `${parsed.spiffeId} is in trust domain "${parsed.trustDomain}", but this CA issues identities of "${trustDomain}" only (spiffe://${trustDomain}/ns/<namespace>/sa/<service account>)`,
      Code.InvalidArgument,
    );
  return parsed.spiffeId;
}

/**
 * Throws PERMISSION_DENIED, naming the ID, when and why, if `spiffeId` is revoked. The store
 * is read on every call: Sign is rare (once per workload and leaf lifetime), a revocation
 * made at another replica must count at once, and the file store answers from memory.
 */
export async function refuseRevoked(store: ConfigStore, spiffeId: string): Promise<void> {
  const revoked = await store.getRevocation(spiffeId);
  if (revoked) throw new ConnectError(revokedMessage(revoked), Code.PermissionDenied);
}

function revokedMessage(r: RevocationRecord): string {
  const at = new Date(r.revokedAtMs).toISOString();
  const why = r.reason ? `reason: ${r.reason}` : "no reason given";
  return `${r.spiffeId} was revoked at ${at} (${why}); the CA signs nothing for it until it is restored (weft identity restore ${r.spiffeId})`;
}
