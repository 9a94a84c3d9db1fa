import { writeFileSync } from "node:fs";
import { join } from "node:path";
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

/** One test CA for every member of a test, made with core's identity helpers (as the control plane does). */
export function testCa(trustDomain = "weft.local"): Promise<CertificateAuthority> {
  return createRootCa({ trustDomain, notBefore: Date.now() - HOUR, notAfter: Date.now() + 24 * HOUR });
}

/** A workload's own key, and a leaf for `spiffe://weft.local/ns/<namespace>/sa/<name>` signed by `ca`. */
export async function workload(
  ca: CertificateAuthority,
  namespace: string,
  name: string,
): Promise<MeshCredentials> {
  const spiffeId = `spiffe://weft.local/ns/${namespace}/sa/${name}`;
  const keys = await generateKeyPair();
  const csr = await createCsr({ keys, spiffeId });
  const leaf = await signLeaf({
    csr,
    ca,
    spiffeId,
    notBefore: Date.now() - HOUR,
    notAfter: Date.now() + 12 * HOUR,
  });
  return {
    key: await exportPrivateKeyPem(keys.privateKey),
    chain: leaf.toString("pem"),
    trustAnchors: [ca.certificate.toString("pem")],
  };
}

/** Writes credentials as the PEM files `weft-sidecar run --cert --key --ca` reads; returns those flags. */
export function writeCredentials(dir: string, name: string, c: MeshCredentials): string[] {
  const path = (ext: string) => join(dir, `${name}.${ext}`);
  writeFileSync(path("pem"), c.chain);
  writeFileSync(path("key"), c.key);
  writeFileSync(path("ca.pem"), c.trustAnchors.join("\n"));
  return ["--cert", path("pem"), "--key", path("key"), "--ca", path("ca.pem")];
}
