// @weft/core/testing: a throwaway mesh PKI for tests and examples, made with the same
// identity helpers the control plane's CA uses. Never for a real mesh: its keys live in memory
// and its root is trusted by nothing but the credentials it hands out.
import { type CertificateAuthority, createRootCa, signLeaf } from "../identity/certificates.ts";
import { createCsr, exportPrivateKeyPem, generateKeyPair } from "../identity/keys.ts";

const HOUR = 3_600_000;

/** Key, chain and trust anchors (PEM): the shape MeshCredentials of @weft/core/transport takes. */
export interface TestCredentials {
  readonly key: string;
  readonly chain: string;
  readonly trustAnchors: readonly string[];
}

/** A root CA valid from a day ago to two days ahead, so tests can issue expired leaves too. */
export function testCertificateAuthority(trustDomain = "weft.local"): Promise<CertificateAuthority> {
  const now = Date.now();
  return createRootCa({ trustDomain, notBefore: now - 24 * HOUR, notAfter: now + 48 * HOUR });
}

/**
 * Credentials as a data plane gets them: its own key, a CSR, a leaf for `spiffeId` signed by
 * `ca` (valid from an hour ago for a day unless told otherwise), trusting `anchors` (`ca`).
 */
export async function issueTestCredentials(
  ca: CertificateAuthority,
  spiffeId: string,
  options: { notBefore?: number; notAfter?: number; anchors?: readonly CertificateAuthority[] } = {},
): Promise<TestCredentials> {
  const keys = await generateKeyPair();
  const csr = await createCsr({ keys, spiffeId });
  const leaf = await signLeaf({
    csr,
    ca,
    spiffeId,
    notBefore: options.notBefore ?? Date.now() - HOUR,
    notAfter: options.notAfter ?? Date.now() + 24 * HOUR,
  });
  return {
    key: await exportPrivateKeyPem(keys.privateKey),
    chain: leaf.toString("pem"),
    trustAnchors: (options.anchors ?? [ca]).map((a) => a.certificate.toString("pem")),
  };
}

export { type HardeningCase, reportHardening } from "./hardening-report.ts";
