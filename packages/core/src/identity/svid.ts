import type { PeerIdentity } from "../call/call.ts";
import { type LeafFacts, leafFacts } from "./leaf-der.ts";
import { parsePeerIdentity, SpiffeIdError } from "./spiffe.ts";
import { type CertificateInput, toCertificate, x509 } from "./x509.ts";

/** Why a peer certificate (chain) was not accepted. */
export type PeerRejectionReason =
  | "malformed"
  | "ca-as-leaf"
  | "leaf-can-sign"
  | "no-uri-san"
  | "several-uri-sans"
  | "bad-spiffe-id"
  | "wrong-trust-domain"
  | "unknown-issuer"
  | "invalid-chain"
  | "expired"
  | "not-yet-valid";

/** A peer certificate that does not carry a usable workload identity, or does not verify. */
export class PeerCertificateError extends Error {
  override readonly name = "PeerCertificateError";
  readonly reason: PeerRejectionReason;

  constructor(reason: PeerRejectionReason, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.reason = reason;
  }
}

/** Every URI subject alternative name of a certificate, in order. */
export function uriSans(cert: x509.X509Certificate): string[] {
  const out: string[] = [];
  for (const ext of cert.getExtensions(x509.SubjectAlternativeNameExtension)) {
    for (const name of ext.names.items) if (name.type === "url") out.push(name.value);
  }
  return out;
}

/** True when the certificate may sign others (basicConstraints CA:true). */
export function isCaCertificate(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

/**
 * The workload identity in a peer's leaf certificate (PEM or DER): its one URI SAN, which
 * must be a Weft SPIFFE ID. Throws PeerCertificateError with the reason. This reads the
 * identity only; verifyPeerChain decides whether the certificate is to be trusted.
 */
export function spiffeIdFromCertificate(input: CertificateInput): PeerIdentity {
  let cert: x509.X509Certificate;
  try {
    cert = toCertificate(input);
  } catch (err) {
    throw new PeerCertificateError("malformed", (err as Error).message, { cause: err });
  }
  return identityOf(cert);
}

/** The identity of an already parsed leaf; see spiffeIdFromCertificate. */
export function identityOf(cert: x509.X509Certificate): PeerIdentity {
  const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  return identityFromFacts(
    {
      serial: cert.serialNumber,
      ca: isCaCertificate(cert),
      keyCertSign: (usages & x509.KeyUsageFlags.keyCertSign) !== 0,
      cRLSign: (usages & x509.KeyUsageFlags.cRLSign) !== 0,
      uris: uriSans(cert),
    },
    describe(cert),
  );
}

/**
 * The same as spiffeIdFromCertificate for a DER leaf a TLS stack has already parsed and
 * verified, without a full X.509 parse (microseconds instead of milliseconds per handshake).
 */
export function identityOfDer(der: Uint8Array): PeerIdentity {
  let facts: LeafFacts;
  try {
    facts = leafFacts(der);
  } catch (err) {
    throw new PeerCertificateError("malformed", (err as Error).message, { cause: err });
  }
  return identityFromFacts(facts, `serial ${facts.serial}`);
}

/** The X.509-SVID rules for a leaf; `name` says which certificate in messages. */
function identityFromFacts(facts: LeafFacts, name: string): PeerIdentity {
  if (facts.ca) {
    throw new PeerCertificateError(
      "ca-as-leaf",
      `CA certificate ${name} is presented as a workload certificate`,
    );
  }
  if (facts.keyCertSign || facts.cRLSign) {
    const usage = [facts.keyCertSign && "keyCertSign", facts.cRLSign && "cRLSign"].filter(Boolean).join("+");
    throw new PeerCertificateError(
      "leaf-can-sign",
      `certificate ${name} has key usage ${usage}; an X.509-SVID leaf must not sign certificates or CRLs`,
    );
  }
  const { uris } = facts;
  if (uris.length === 0) {
    throw new PeerCertificateError("no-uri-san", `certificate ${name} has no URI SAN, so no SPIFFE ID`);
  }
  if (uris.length > 1) {
    throw new PeerCertificateError(
      "several-uri-sans",
      `certificate ${name} has ${uris.length} URI SANs (${uris.join(", ")}); an X.509-SVID has exactly one`,
    );
  }
  try {
    return parsePeerIdentity(uris[0] ?? "");
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    throw new PeerCertificateError("bad-spiffe-id", `certificate ${name}: ${err.message}`, { cause: err });
  }
}

/** A short name for a certificate in messages: its subject, or its serial when the subject is empty. */
export function describe(cert: x509.X509Certificate): string {
  return cert.subject ? `"${cert.subject}"` : `serial ${cert.serialNumber}`;
}
