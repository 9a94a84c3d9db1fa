import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { formatSpiffeId, presentedChain, signLeaf } from "@weft/core";
import type { IdentityService, SignRequest } from "@weft/core/model";
import type { ConfigStore } from "../store/config-store.ts";
import { verifyToken } from "../tokens/tokens.ts";
import type { MeshCa } from "./certificate-authority.ts";
import { renewalIdentity } from "./renewal.ts";
import { refuseRevoked } from "./revocations.ts";

export interface IdentityServiceOptions {
  /** Leaf lifetime; 24 h by default. */
  readonly leafTtlMs?: number;
  /** Backdating, against clocks of data planes a little behind. */
  readonly clockSkewMs?: number;
  readonly now?: () => number;
}

/**
 * The mesh CA's Sign RPC. Who the caller is comes from its bootstrap credential (the SPIFFE ID
 * certified is derived from the token's namespace and service account, whatever the CSR asks
 * for) or, to renew, from the current certificate whose key signed the request (the same
 * SPIFFE ID again). Nothing is signed for a revoked SPIFFE ID, whichever way the caller
 * authenticated. A leaf never outlives the CA that signs it.
 */
export function identityService(
  ca: MeshCa,
  store: ConfigStore,
  options: IdentityServiceOptions = {},
): Partial<ServiceImpl<typeof IdentityService>> {
  const ttl = options.leafTtlMs ?? 86_400_000;
  const skew = options.clockSkewMs ?? 60_000;
  const now = options.now ?? Date.now;
  return {
    async sign(req) {
      const t = now();
      const spiffeId = await requesterIdentity(req, ca, store, t);
      // After authentication, so only a caller that proved the identity learns it is revoked.
      await refuseRevoked(store, spiffeId);
      const caNotAfter = ca.authority.certificate.notAfter.getTime();
      let leaf: Awaited<ReturnType<typeof signLeaf>>;
      try {
        leaf = await signLeaf({
          csr: req.csrPem,
          ca: ca.authority,
          spiffeId,
          notBefore: t - skew,
          notAfter: Math.min(t + ttl, caNotAfter),
        });
      } catch (e) {
        throw new ConnectError(`cannot sign this CSR: ${(e as Error).message}`, Code.InvalidArgument);
      }
      return {
        certificateChainPem: presentedChain(leaf, ca.authority).map((c) => c.toString("pem")),
        trustAnchorsPem: [...ca.trustAnchors],
        spiffeId,
      };
    },
  };
}

/** The SPIFFE ID to certify, from the token or the renewal proof; throws a ConnectError naming why not. */
async function requesterIdentity(
  req: SignRequest,
  ca: MeshCa,
  store: ConfigStore,
  t: number,
): Promise<string> {
  const auth = req.authentication;
  if (auth.case === "renewal") return renewalIdentity(req.csrPem, auth.value, ca, t);
  if (auth.case !== "credential") {
    throw new ConnectError(
      "the request carries neither a bootstrap credential nor a renewal proof",
      Code.Unauthenticated,
    );
  }
  const subject = await verifyToken(store, auth.value, t);
  if (!subject) {
    throw new ConnectError(
      "the bootstrap credential is unknown or expired; create one with `weft token create`",
      Code.Unauthenticated,
    );
  }
  return formatSpiffeId(ca.trustDomain, ["ns", subject.namespace, "sa", subject.serviceAccount]);
}
