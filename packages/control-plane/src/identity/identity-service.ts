import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { formatSpiffeId, presentedChain, signLeaf } from "@weft/core";
import type { IdentityService } from "@weft/core/model";
import type { ConfigStore } from "../store/config-store.ts";
import { verifyToken } from "../tokens/tokens.ts";
import type { MeshCa } from "./certificate-authority.ts";

export interface IdentityServiceOptions {
  /** Leaf lifetime; 24 h by default. */
  readonly leafTtlMs?: number;
  /** Backdating, against clocks of data planes a little behind. */
  readonly clockSkewMs?: number;
  readonly now?: () => number;
}

/**
 * The mesh CA's Sign RPC. Who the caller is comes from its bootstrap credential alone: the
 * SPIFFE ID certified is derived from the token's namespace and service account, whatever
 * the CSR asks for. A leaf never outlives the CA that signs it.
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
      const subject = await verifyToken(store, req.credential, t);
      if (!subject) {
        throw new ConnectError(
          "the bootstrap credential is unknown or expired; create one with `weft token create`",
          Code.Unauthenticated,
        );
      }
      const spiffeId = formatSpiffeId(ca.trustDomain, [
        "ns",
        subject.namespace,
        "sa",
        subject.serviceAccount,
      ]);
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
