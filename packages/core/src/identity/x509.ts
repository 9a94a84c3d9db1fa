// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata
// API loaded first; keep this import first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { Bytes } from "./webcrypto.ts";

// Core code runs in Node and browsers alike: WebCrypto is the one crypto both have.
x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

/** A certificate as PEM, DER bytes, or already parsed. */
export type CertificateInput = string | Bytes | x509.X509Certificate;

/** Parses a certificate given as PEM or DER; a parsed one is returned as is. */
export function toCertificate(input: CertificateInput): x509.X509Certificate {
  if (input instanceof x509.X509Certificate) return input;
  try {
    return new x509.X509Certificate(input);
  } catch (err) {
    throw new Error(`not an X.509 certificate (PEM or DER): ${(err as Error).message}`, { cause: err });
  }
}

/** Parses every certificate of a PEM bundle (leaf first, as TLS sends them). */
export function certificatesFromPem(pem: string): x509.X509Certificate[] {
  return x509.PemConverter.decode(pem).map((der) => new x509.X509Certificate(der));
}

/** PEM text of one certificate, or of several concatenated (a chain or a trust bundle). */
export function certificatePem(certs: x509.X509Certificate | readonly x509.X509Certificate[]): string {
  const list = Array.isArray(certs) ? certs : [certs as x509.X509Certificate];
  return list.map((c) => c.toString("pem")).join("\n");
}
