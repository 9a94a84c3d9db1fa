import type { PeerIdentity } from "../call/call.ts";
import type { Instant } from "./certificates.ts";
import {
  describe,
  identityOf,
  isCaCertificate,
  PeerCertificateError,
  type PeerRejectionReason,
} from "./svid.ts";
import { type CertificateInput, certificatesFromPem, toCertificate, x509 } from "./x509.ts";

export interface VerifyPeerOptions {
  /** What the peer presented, leaf first: a PEM bundle, or certificates (PEM, DER or parsed). */
  chain: string | readonly CertificateInput[];
  /**
   * Root certificates trusted now. Several at once while trust anchors rotate: a peer
   * whose chain ends at any of them is accepted.
   */
  trustAnchors: readonly CertificateInput[];
  /** The trust domain the peer must belong to. */
  trustDomain: string;
  /** Wall-clock time to check validity windows against (injected, so tests fix it). */
  now: Instant;
  /** Most intermediates accepted between leaf and anchor; 4 when absent. */
  maxIntermediates?: number;
}

export type PeerVerification =
  | {
      readonly ok: true;
      readonly identity: PeerIdentity;
      readonly leaf: x509.X509Certificate;
      /** Leaf, intermediates, then the trust anchor that vouched for them. */
      readonly path: readonly x509.X509Certificate[];
    }
  | { readonly ok: false; readonly reason: PeerRejectionReason; readonly message: string };

/**
 * Verifies a peer's certificate chain against trust anchors: the leaf carries exactly one
 * Weft SPIFFE ID in `trustDomain` and is not a CA, every signature up to an anchor holds,
 * and every certificate on the path is valid at `now`. Never throws for a bad chain: the
 * result names the reason.
 */
export async function verifyPeerChain(options: VerifyPeerOptions): Promise<PeerVerification> {
  try {
    return await verify(options);
  } catch (err) {
    if (err instanceof PeerCertificateError) return { ok: false, reason: err.reason, message: err.message };
    throw err;
  }
}

async function verify(options: VerifyPeerOptions): Promise<PeerVerification> {
  const presented = parseChain(options.chain);
  const leaf = presented[0];
  if (!leaf) throw new PeerCertificateError("malformed", "the peer presented no certificate");
  const identity = identityOf(leaf);
  if (identity.trustDomain !== options.trustDomain) {
    throw new PeerCertificateError(
      "wrong-trust-domain",
      `peer ${identity.spiffeId} is in trust domain ${identity.trustDomain}, not ${options.trustDomain}`,
    );
  }
  const anchors = options.trustAnchors.map((a) => parseOne(a, "trust anchor"));
  const path = await buildPath(leaf, presented.slice(1), anchors, options.maxIntermediates ?? 4);
  checkValidity(path, toMillis(options.now), identity);
  return { ok: true, identity, leaf, path };
}

/** Walks issuer links from the leaf until a trust anchor signed the last certificate. */
async function buildPath(
  leaf: x509.X509Certificate,
  intermediates: x509.X509Certificate[],
  anchors: x509.X509Certificate[],
  maxIntermediates: number,
): Promise<x509.X509Certificate[]> {
  const path = [leaf];
  let current = leaf;
  for (;;) {
    const anchor = await findSigner(current, anchors);
    if (anchor) {
      path.push(anchor);
      return path;
    }
    const issuer = await findSigner(
      current,
      intermediates.filter((c) => !path.includes(c)),
    );
    if (!issuer) {
      const role = current === leaf ? "certificate" : "intermediate CA";
      throw new PeerCertificateError(
        "unknown-issuer",
        `${role} ${describe(current)} was issued by "${current.issuer}", which is neither one of the ${anchors.length} trust anchor(s) nor in the presented chain (or its signature does not verify)`,
      );
    }
    if (!isCaCertificate(issuer)) {
      throw new PeerCertificateError(
        "invalid-chain",
        `issuer ${describe(issuer)} in the presented chain is not a CA`,
      );
    }
    if (path.length > maxIntermediates) {
      throw new PeerCertificateError(
        "invalid-chain",
        `the chain has more than ${maxIntermediates} intermediate CAs`,
      );
    }
    path.push(issuer);
    current = issuer;
  }
}

/**
 * The candidate whose key signed `cert`. Names and key identifiers only narrow the search:
 * during a rotation the old and new roots may share a subject, so the signature decides.
 */
async function findSigner(
  cert: x509.X509Certificate,
  candidates: readonly x509.X509Certificate[],
): Promise<x509.X509Certificate | undefined> {
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  for (const candidate of candidates) {
    if (candidate.subject !== cert.issuer) continue;
    const ski = candidate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    if (aki && ski && aki !== ski) continue;
    if (await cert.verify({ publicKey: candidate.publicKey, signatureOnly: true })) return candidate;
  }
  return undefined;
}

function checkValidity(path: readonly x509.X509Certificate[], now: number, identity: PeerIdentity): void {
  path.forEach((cert, i) => {
    const what =
      i === 0
        ? `certificate of ${identity.spiffeId}`
        : i === path.length - 1
          ? "trust anchor"
          : "intermediate CA";
    const name = i === 0 ? "" : ` ${describe(cert)}`;
    const at = new Date(now).toISOString();
    if (now > cert.notAfter.getTime()) {
      throw new PeerCertificateError(
        "expired",
        `${what}${name} expired at ${cert.notAfter.toISOString()} (now ${at})`,
      );
    }
    if (now < cert.notBefore.getTime()) {
      throw new PeerCertificateError(
        "not-yet-valid",
        `${what}${name} is not valid before ${cert.notBefore.toISOString()} (now ${at})`,
      );
    }
  });
}

function parseChain(chain: string | readonly CertificateInput[]): x509.X509Certificate[] {
  if (typeof chain === "string") {
    try {
      return certificatesFromPem(chain);
    } catch (err) {
      throw new PeerCertificateError(
        "malformed",
        `peer chain is not PEM certificates: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return chain.map((c, i) => parseOne(c, i === 0 ? "peer certificate" : `peer chain certificate ${i}`));
}

function parseOne(input: CertificateInput, what: string): x509.X509Certificate {
  try {
    return toCertificate(input);
  } catch (err) {
    throw new PeerCertificateError("malformed", `${what}: ${(err as Error).message}`, { cause: err });
  }
}

function toMillis(t: Instant): number {
  return typeof t === "number" ? t : t.getTime();
}
