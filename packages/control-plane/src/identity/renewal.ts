import { Code, ConnectError } from "@connectrpc/connect";
import { type RenewalProofFields, type RenewalProofRejection, verifyRenewalProof } from "@weft/core";
import type { MeshCa } from "./certificate-authority.ts";

/**
 * Refusals that come from a request that is malformed or self-contradictory, whoever sends it;
 * every other one (a certificate the CA does not trust, a signature that does not verify, an
 * identity the certificate does not carry) denies the caller what it asked for.
 */
const MALFORMED: ReadonlySet<RenewalProofRejection> = new Set<RenewalProofRejection>([
  "malformed",
  "malformed-csr",
  "csr-refused",
  "unknown-algorithm",
  "algorithm-mismatch",
  "no-spiffe-id-asked",
]);

/**
 * The SPIFFE ID a renewal proof speaks for: that of the presented certificate, once it is
 * trusted by the CA's anchors now and its key signed this CSR. Throws INVALID_ARGUMENT or
 * PERMISSION_DENIED with the verifier's reason.
 */
export async function renewalIdentity(
  csrPem: string,
  proof: RenewalProofFields,
  ca: MeshCa,
  now: number,
): Promise<string> {
  const verdict = await verifyRenewalProof({
    csrPem,
    proof,
    trustAnchors: ca.trustAnchors,
    trustDomain: ca.trustDomain,
    now,
  });
  if (verdict.ok) return verdict.identity.spiffeId;
  throw new ConnectError(
    `renewal refused (${verdict.reason}): ${verdict.message}`,
    MALFORMED.has(verdict.reason) ? Code.InvalidArgument : Code.PermissionDenied,
  );
}
