import type { PeerIdentity } from "../call/call.ts";
import { csrProblem } from "./csr.ts";
import { importPrivateKeyPem } from "./keys.ts";
import type { PeerRejectionReason } from "./svid.ts";
import { verifyPeerChain } from "./verify.ts";
import type { Key } from "./webcrypto.ts";
import { type CertificateInput, certificatesFromPem, x509 } from "./x509.ts";

/**
 * Signed before the CSR's DER, so that no signature the workload key makes for another purpose
 * (a TLS handshake, say) can pass as a renewal proof. See RenewalProof in identity.proto.
 */
const CONTEXT = new TextEncoder().encode("weft-renewal-proof-v1\0");

/** Signature algorithms a proof may name (JWS names, RFC 7518), with their WebCrypto parameters. */
const ALGORITHMS = {
  ES256: { key: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
  ES384: { key: { name: "ECDSA", namedCurve: "P-384" }, sign: { name: "ECDSA", hash: "SHA-384" } },
  RS256: {
    key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    sign: { name: "RSASSA-PKCS1-v1_5" },
  },
} as const;

export type RenewalSignatureAlgorithm = keyof typeof ALGORITHMS;

/** The RenewalProof message of a Sign request, without its protobuf type name. */
export interface RenewalProofFields {
  readonly certificateChainPem: readonly string[];
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

/** A proof as signRenewalProof makes it, ready to be a RenewalProof message's fields. */
export interface SignedRenewalProof extends RenewalProofFields {
  readonly certificateChainPem: string[];
  readonly signatureAlgorithm: RenewalSignatureAlgorithm;
}

/** The bytes a renewal proof signs: the context string, then the CSR's DER. */
export function renewalProofMessage(csr: x509.Pkcs10CertificateRequest): Uint8Array {
  const der = new Uint8Array(csr.rawData);
  const out = new Uint8Array(CONTEXT.length + der.length);
  out.set(CONTEXT);
  out.set(der, CONTEXT.length);
  return out;
}

/**
 * A proof that the holder of `chainPem`'s key asks for `csrPem`: the chain, one certificate an
 * entry, and the key's ES256 signature over the CSR. Workload keys are ECDSA P-256 (see
 * generateKeyPair), so ES256 is the one algorithm this side writes.
 */
export async function signRenewalProof(options: {
  readonly csrPem: string;
  /** The current chain, leaf first (PEM, as IssuedCredentials.chain holds it). */
  readonly chainPem: string;
  /** The current leaf's private key: PKCS#8 PEM or an imported ECDSA P-256 key. */
  readonly privateKey: string | Key;
}): Promise<SignedRenewalProof> {
  const chain = certificatesFromPem(options.chainPem);
  if (chain.length === 0) throw new Error("cannot prove possession: the current chain holds no certificate");
  const key =
    typeof options.privateKey === "string"
      ? await importPrivateKeyPem(options.privateKey)
      : options.privateKey;
  const message = renewalProofMessage(new x509.Pkcs10CertificateRequest(options.csrPem));
  const signature = await globalThis.crypto.subtle.sign(ALGORITHMS.ES256.sign, key, message);
  return {
    certificateChainPem: chain.map((c) => c.toString("pem")),
    signatureAlgorithm: "ES256",
    signature: new Uint8Array(signature),
  };
}

/** Why a renewal proof was refused: a chain rule, or one of the proof's own. */
export type RenewalProofRejection =
  | PeerRejectionReason
  | "malformed-csr"
  | "csr-refused"
  | "unknown-algorithm"
  | "algorithm-mismatch"
  | "bad-signature"
  | "no-spiffe-id-asked"
  | "other-spiffe-id-asked";

export type RenewalProofVerdict =
  | { readonly ok: true; readonly identity: PeerIdentity; readonly leaf: x509.X509Certificate }
  | { readonly ok: false; readonly reason: RenewalProofRejection; readonly message: string };

export interface VerifyRenewalProofOptions {
  readonly csrPem: string;
  readonly proof: RenewalProofFields;
  /** The CA's trust anchors now (several during a root rotation). */
  readonly trustAnchors: readonly CertificateInput[];
  readonly trustDomain: string;
  /** Wall-clock epoch ms. */
  readonly now: number;
}

/**
 * Checks a renewal proof: the presented leaf passes the mesh's peer rules (verifyPeerChain:
 * X.509-SVID, trust domain, chain to an anchor, validity now), its key signed the CSR (with the
 * named algorithm, which must fit the key), and the CSR asks for exactly the leaf's SPIFFE ID
 * and passes the CSR rules. Never throws for a bad proof: the verdict names what failed.
 */
export async function verifyRenewalProof(options: VerifyRenewalProofOptions): Promise<RenewalProofVerdict> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(options.csrPem);
  } catch (err) {
    return refuse("malformed-csr", `CSR is not a PKCS#10 request (PEM or DER): ${(err as Error).message}`);
  }
  const { proof } = options;
  const chain = await verifyPeerChain({
    chain: proof.certificateChainPem,
    trustAnchors: options.trustAnchors,
    trustDomain: options.trustDomain,
    now: options.now,
  });
  if (!chain.ok) return refuse(chain.reason, `renewal certificate refused: ${chain.message}`);
  const { identity, leaf } = chain;

  const alg = Object.hasOwn(ALGORITHMS, proof.signatureAlgorithm)
    ? ALGORITHMS[proof.signatureAlgorithm as RenewalSignatureAlgorithm]
    : undefined;
  if (!alg) {
    return refuse(
      "unknown-algorithm",
      `renewal proof signature algorithm ${JSON.stringify(proof.signatureAlgorithm)} is not one of ${Object.keys(ALGORITHMS).join(", ")}`,
    );
  }
  let publicKey: Key;
  try {
    publicKey = await globalThis.crypto.subtle.importKey("spki", leaf.publicKey.rawData, alg.key, false, [
      "verify",
    ]);
  } catch {
    return refuse(
      "algorithm-mismatch",
      `renewal proof names ${proof.signatureAlgorithm}, which does not fit the key of the certificate of ${identity.spiffeId} (${describeKey(leaf)})`,
    );
  }
  const signed = await globalThis.crypto.subtle.verify(
    alg.sign,
    publicKey,
    proof.signature,
    renewalProofMessage(csr),
  );
  if (!signed) {
    return refuse(
      "bad-signature",
      `renewal proof signature does not verify with the key of the certificate of ${identity.spiffeId}: the requester did not prove it holds that certificate's private key`,
    );
  }

  const problem = csrProblem(csr);
  if (problem) return refuse("csr-refused", problem);
  const asked = csr.extensions
    .filter(
      (e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension,
    )
    .flatMap((e) => e.names.items.filter((n) => n.type === "url").map((n) => n.value));
  if (asked.length === 0) {
    return refuse(
      "no-spiffe-id-asked",
      `renewal CSR names no SPIFFE ID; it must ask for ${identity.spiffeId}, the identity of the certificate it renews`,
    );
  }
  if (asked[0] !== identity.spiffeId) {
    return refuse(
      "other-spiffe-id-asked",
      `renewal CSR asks for ${asked[0]}, but the certificate it renews is ${identity.spiffeId}; a renewal keeps its identity`,
    );
  }
  return { ok: true, identity, leaf };
}

function refuse(reason: RenewalProofRejection, message: string): RenewalProofVerdict {
  return { ok: false, reason, message };
}

function describeKey(cert: x509.X509Certificate): string {
  const alg = cert.publicKey.algorithm as { name?: string; namedCurve?: string; modulusLength?: number };
  return [alg.name, alg.namedCurve ?? (alg.modulusLength ? `${alg.modulusLength} bits` : "")]
    .filter(Boolean)
    .join(" ");
}
