import { parseSpiffeId } from "./spiffe.ts";
import type { AlgorithmParams, Key, KeyPair } from "./webcrypto.ts";
import { x509 } from "./x509.ts";

/** The workload key algorithm: ECDSA on P-256, signing with SHA-256 (what Istio and Linkerd use). */
export const WORKLOAD_KEY_ALGORITHM: AlgorithmParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING_ALGORITHM: AlgorithmParams = { name: "ECDSA", hash: "SHA-256" };

/**
 * Generates an ECDSA P-256 key pair. The private key is extractable by default because a
 * TLS stack (Node's tls, for one) takes it as PEM; it still never leaves the process.
 */
export async function generateKeyPair(options: { extractable?: boolean } = {}): Promise<KeyPair> {
  const keys = await globalThis.crypto.subtle.generateKey(
    WORKLOAD_KEY_ALGORITHM,
    options.extractable ?? true,
    ["sign", "verify"],
  );
  return keys as KeyPair;
}

/** PKCS#8 PEM of a private key, for a TLS context. */
export async function exportPrivateKeyPem(key: Key): Promise<string> {
  if (!key.extractable)
    throw new Error("the private key is not extractable; generate it with extractable: true");
  const der = await globalThis.crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Imports a PKCS#8 PEM ECDSA P-256 private key (the form exportPrivateKeyPem writes). */
export async function importPrivateKeyPem(
  pem: string,
  options: { extractable?: boolean } = {},
): Promise<Key> {
  const der = x509.PemConverter.decodeFirst(pem);
  return globalThis.crypto.subtle.importKey(
    "pkcs8",
    der,
    WORKLOAD_KEY_ALGORITHM,
    options.extractable ?? true,
    ["sign"],
  );
}

/**
 * A PEM certificate signing request for `spiffeId`, signed with the key pair (proof of
 * possession). The CA decides the identity it certifies; the URI SAN here is a request only.
 */
export async function createCsr(options: { keys: KeyPair; spiffeId: string }): Promise<string> {
  parseSpiffeId(options.spiffeId);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: options.keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: options.spiffeId }])],
  });
  return csr.toString("pem");
}
