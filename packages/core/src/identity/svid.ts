import type { PeerIdentity } from "../call/call.ts";
import { parsePeerIdentity, SpiffeIdError } from "./spiffe.ts";
import { type CertificateInput, toCertificate, x509 } from "./x509.ts";

/** Why a peer certificate (chain) was not accepted. */
export type PeerRejectionReason =
  | "malformed"
  | "ca-as-leaf"
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
  if (isCaCertificate(cert)) {
    throw new PeerCertificateError(
      "ca-as-leaf",
      `CA certificate ${describe(cert)} is presented as a workload certificate`,
    );
  }
  const uris = uriSans(cert);
  if (uris.length === 0) {
    throw new PeerCertificateError(
      "no-uri-san",
      `certificate ${describe(cert)} has no URI SAN, so no SPIFFE ID`,
    );
  }
  if (uris.length > 1) {
    throw new PeerCertificateError(
      "several-uri-sans",
      `certificate ${describe(cert)} has ${uris.length} URI SANs (${uris.join(", ")}); an X.509-SVID has exactly one`,
    );
  }
  try {
    return parsePeerIdentity(uris[0] ?? "");
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    throw new PeerCertificateError("bad-spiffe-id", `certificate ${describe(cert)}: ${err.message}`, {
      cause: err,
    });
  }
}

/** A short name for a certificate in messages: its subject, or its serial when the subject is empty. */
export function describe(cert: x509.X509Certificate): string {
  return cert.subject ? `"${cert.subject}"` : `serial ${cert.serialNumber}`;
}
