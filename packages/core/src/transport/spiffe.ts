import { X509Certificate } from "node:crypto";
import type { PeerIdentity } from "../call/call.ts";
import { identityOfDer, PeerCertificateError, spiffeIdFromCertificate } from "../identity/svid.ts";

const SPIFFE_PREFIX = "spiffe://";

/**
 * The SPIFFE ID of a certificate: its one `spiffe://` URI SAN. Undefined when there is none,
 * or more than one (an X.509-SVID carries exactly one, so two is a malformed certificate).
 */
export function spiffeIdOf(cert: X509Certificate | Uint8Array): string | undefined {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const san = x509.subjectAltName;
  if (!san) return undefined;
  let found: string | undefined;
  for (const entry of splitSubjectAltName(san)) {
    if (!entry.startsWith("URI:")) continue;
    const uri = unquote(entry.slice(4));
    if (!uri.startsWith(SPIFFE_PREFIX)) continue;
    if (found !== undefined) return undefined;
    found = uri;
  }
  return found;
}

/** Splits spiffe://<td>/ns/<ns>/sa/<sa> into its parts; other paths keep empty namespace/account. */
export function parseSpiffeId(spiffeId: string): PeerIdentity {
  if (!spiffeId.startsWith(SPIFFE_PREFIX)) {
    throw new Error(`"${spiffeId}" is not a SPIFFE ID (expected spiffe://<trust-domain>/ns/<ns>/sa/<sa>)`);
  }
  const rest = spiffeId.slice(SPIFFE_PREFIX.length);
  const slash = rest.indexOf("/");
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const segments = slash < 0 ? [] : rest.slice(slash + 1).split("/");
  const isWorkload = segments.length === 4 && segments[0] === "ns" && segments[2] === "sa";
  return {
    spiffeId,
    trustDomain,
    namespace: isWorkload ? (segments[1] ?? "") : "",
    serviceAccount: isWorkload ? (segments[3] ?? "") : "",
  };
}

// Node prints SANs as `DNS:a, URI:b`, quoting (JSON-style) any entry that contains a comma or quote.
function splitSubjectAltName(san: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < san.length; i++) {
    const ch = san[i];
    if (ch === '"' && san[i - 1] !== "\\") quoted = !quoted;
    else if (ch === "," && !quoted) {
      out.push(san.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(san.slice(start).trim());
  return out;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      return JSON.parse(value) as string;
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * The workload identity of a peer's leaf certificate (DER, as TLS hands it over) after the
 * X.509-SVID rules the TLS stack does not check: not a CA, no certificate or CRL signing, exactly
 * one URI SAN holding a valid Weft SPIFFE ID, in `trustDomain`. OpenSSL has already checked
 * the chain to the trust anchors and the validity window. Throws PeerCertificateError.
 */
export function svidIdentity(raw: Uint8Array, trustDomain: string): PeerIdentity {
  const identity = identityOfDer(raw);
  if (identity.trustDomain !== trustDomain) {
    throw new PeerCertificateError(
      "wrong-trust-domain",
      `peer ${identity.spiffeId} is in trust domain ${identity.trustDomain}, not ${trustDomain}`,
    );
  }
  return identity;
}

/** The trust domain of a workload's own certificate (the first of `chain`), which its peers must share. */
export function trustDomainOfChain(chain: string): string {
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chain)?.[0];
  if (!leaf) throw new Error("mesh credentials: the certificate chain holds no PEM certificate");
  try {
    return spiffeIdFromCertificate(leaf).trustDomain;
  } catch (err) {
    throw new Error(
      `mesh credentials: the workload's own certificate is no X.509-SVID: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
