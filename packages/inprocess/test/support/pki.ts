import {
  type CertificateAuthority,
  createCsr,
  createRootCa,
  exportPrivateKeyPem,
  generateKeyPair,
  signLeaf,
} from "@weft/core";
import type { MeshCredentials } from "@weft/core/transport";

const HOUR = 3_600_000;

/** A mesh CA for tests, made with core's own identity helpers (the same the control plane uses). */
export async function testCa(trustDomain = "weft.local"): Promise<CertificateAuthority> {
  return createRootCa({ trustDomain, notBefore: Date.now() - 24 * HOUR, notAfter: Date.now() + 48 * HOUR });
}

export function anchorOf(ca: CertificateAuthority): string {
  return ca.certificate.toString("pem");
}

/** Workload credentials as a data plane gets them: its own key, a CSR, a leaf signed by `ca`. */
export async function workload(
  ca: CertificateAuthority,
  spiffeId: string,
  options: { notBefore?: number; notAfter?: number; anchors?: readonly CertificateAuthority[] } = {},
): Promise<MeshCredentials> {
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
    trustAnchors: (options.anchors ?? [ca]).map(anchorOf),
  };
}
