// The X.509-SVID rules (SPIFFE X509-SVID and SPIFFE-ID specifications) as a table: each case
// is a leaf that breaks exactly one rule, the reason core's verifier must give, and what the
// message must say, in the verifier and on the wire.
import type { PeerRejectionReason } from "../../../src/identity/index.ts";
import { x509 } from "../../../src/identity/index.ts";
import { type ForgedCa, type ForgedLeaf, forgeLeaf, forgeSvid } from "./forge.ts";

export const TRUST_DOMAIN = "weft.local";
export const ORDERS = "spiffe://weft.local/ns/shop/sa/orders";
export const FRONTEND = "spiffe://weft.local/ns/shop/sa/frontend";
export const PAYMENTS = "spiffe://weft.local/ns/shop/sa/payments";

const HOUR = 3_600_000;
const SIGN = x509.KeyUsageFlags.digitalSignature;

export interface SvidCase {
  readonly name: string;
  readonly reason: PeerRejectionReason;
  /** What core's verifier says. */
  readonly message: RegExp;
  /** What a mesh client says when a server presents the leaf (OpenSSL's words where OpenSSL refuses first). */
  readonly wire: RegExp;
  readonly make: (pki: { mesh: ForgedCa; foreign: ForgedCa }) => Promise<ForgedLeaf>;
}

function idCase(name: string, spiffeId: string, message: RegExp): SvidCase {
  return {
    name,
    reason: "bad-spiffe-id",
    message,
    wire: message,
    make: ({ mesh }) => forgeSvid(mesh, spiffeId),
  };
}

export const SVID_CASES: readonly SvidCase[] = [
  {
    name: "expired",
    reason: "expired",
    message: /certificate of spiffe:\/\/weft\.local\/ns\/shop\/sa\/orders expired at/,
    wire: /certificate has expired/,
    make: ({ mesh }) => forgeSvid(mesh, ORDERS, { notBefore: -2 * HOUR, notAfter: -HOUR }),
  },
  {
    name: "not yet valid",
    reason: "not-yet-valid",
    message: /is not valid before/,
    wire: /certificate is not yet valid/,
    make: ({ mesh }) => forgeSvid(mesh, ORDERS, { notBefore: HOUR, notAfter: 2 * HOUR }),
  },
  {
    name: "unknown trust domain (signed by the mesh CA)",
    reason: "wrong-trust-domain",
    message: /is in trust domain elsewhere\.test, not weft\.local/,
    wire: /is in trust domain elsewhere\.test, not weft\.local/,
    make: ({ mesh }) => forgeSvid(mesh, "spiffe://elsewhere.test/ns/shop/sa/orders"),
  },
  {
    name: "no URI SAN",
    reason: "no-uri-san",
    message: /has no URI SAN, so no SPIFFE ID/,
    wire: /has no URI SAN, so no SPIFFE ID/,
    make: ({ mesh }) => forgeLeaf(mesh, { sans: [{ type: "dns", value: "orders.shop.svc" }] }),
  },
  {
    name: "two URI SANs",
    reason: "several-uri-sans",
    message: /has 2 URI SANs .*an X\.509-SVID has exactly one/,
    wire: /has 2 URI SANs/,
    make: ({ mesh }) =>
      forgeLeaf(mesh, {
        sans: [
          { type: "url", value: ORDERS },
          { type: "url", value: PAYMENTS },
        ],
      }),
  },
  {
    name: "leaf with CA:true",
    reason: "ca-as-leaf",
    message: /CA certificate .* is presented as a workload certificate/,
    wire: /is presented as a workload certificate/,
    make: ({ mesh }) => forgeSvid(mesh, ORDERS, { ca: true }),
  },
  {
    name: "leaf with keyCertSign",
    reason: "leaf-can-sign",
    message: /has key usage keyCertSign; an X\.509-SVID leaf must not sign/,
    wire: /has key usage keyCertSign/,
    make: ({ mesh }) => forgeSvid(mesh, ORDERS, { keyUsages: SIGN | x509.KeyUsageFlags.keyCertSign }),
  },
  {
    name: "leaf with cRLSign",
    reason: "leaf-can-sign",
    message: /has key usage cRLSign; an X\.509-SVID leaf must not sign/,
    wire: /has key usage cRLSign/,
    make: ({ mesh }) => forgeSvid(mesh, ORDERS, { keyUsages: SIGN | x509.KeyUsageFlags.cRLSign }),
  },
  idCase("uppercase trust domain", "spiffe://Weft.local/ns/shop/sa/orders", /must be lowercase/),
  idCase("port", "spiffe://weft.local:8443/ns/shop/sa/orders", /has a port/),
  idCase("userinfo", "spiffe://admin@weft.local/ns/shop/sa/orders", /has userinfo/),
  idCase("percent-encoding", "spiffe://weft.local/ns/sh%6Fp/sa/orders", /percent-encoded/),
  idCase("'.' segment", "spiffe://weft.local/ns/./sa/orders", /path has a '\.' segment/),
  idCase("'..' segment", "spiffe://weft.local/ns/shop/sa/../orders", /path has a '\.\.' segment/),
  idCase("trailing '/'", "spiffe://weft.local/ns/shop/sa/orders/", /path ends with '\/'/),
  idCase("query", "spiffe://weft.local/ns/shop/sa/orders?v=1", /has a query/),
  idCase("fragment", "spiffe://weft.local/ns/shop/sa/orders#frag", /has a fragment/),
  idCase(
    "over 2,048 bytes",
    `spiffe://weft.local/ns/shop/sa/${"a".repeat(2048)}`,
    /bytes long; a SPIFFE ID is at most 2048 bytes/,
  ),
  {
    name: "signed by another trust domain's CA",
    reason: "unknown-issuer",
    message: /neither one of the 1 trust anchor\(s\) nor in the presented chain/,
    wire: /unable to verify the first certificate|unable to get local issuer certificate/,
    make: ({ foreign }) => forgeSvid(foreign, ORDERS),
  },
];
