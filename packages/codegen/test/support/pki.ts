import {
  type CertificateAuthority,
  createCsr,
  createRootCa,
  exportPrivateKeyPem,
  generateKeyPair,
  signLeaf,
} from "@weft/core";
import type { MeshCredentials } from "@weft/core/transport";

// A copy of packages/inprocess/test/support/pki.ts: tests do not import across packages' test folders.

const HOUR = 3_600_000;

/** A mesh CA for tests, made with core's own identity helpers (the same the control plane uses). */
export async function testCa(trustDomain = "weft.local"): Promise<CertificateAuthority> {
  return createRootCa({ trustDomain, notBefore: Date.now() - 24 * HOUR, notAfter: Date.now() + 48 * HOUR });
}

/** Workload credentials as a data plane gets them: its own key, a CSR, a leaf signed by `ca`. */
export async function workload(ca: CertificateAuthority, spiffeId: string): Promise<MeshCredentials> {
  const keys = await generateKeyPair();
  const csr = await createCsr({ keys, spiffeId });
  const leaf = await signLeaf({
    csr,
    ca,
    spiffeId,
    notBefore: Date.now() - HOUR,
    notAfter: Date.now() + 24 * HOUR,
  });
  return {
    key: await exportPrivateKeyPem(keys.privateKey),
    chain: leaf.toString("pem"),
    trustAnchors: [ca.certificate.toString("pem")],
  };
}
