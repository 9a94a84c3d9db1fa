import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CertificateAuthority } from "@weft/core";
import { issueTestCredentials, testCertificateAuthority } from "@weft/core/testing";
import type { MeshCredentials } from "@weft/core/transport";

/** One test CA for every member of a test. */
export const testCa = testCertificateAuthority;

/** A workload's own key, and a leaf for `spiffe://weft.local/ns/<namespace>/sa/<name>` signed by `ca`. */
export function workload(
  ca: CertificateAuthority,
  namespace: string,
  name: string,
): Promise<MeshCredentials> {
  return issueTestCredentials(ca, `spiffe://weft.local/ns/${namespace}/sa/${name}`);
}

/** Writes credentials as the PEM files `weft-sidecar run --cert --key --ca` reads; returns those flags. */
export function writeCredentials(dir: string, name: string, c: MeshCredentials): string[] {
  const path = (ext: string) => join(dir, `${name}.${ext}`);
  writeFileSync(path("pem"), c.chain);
  writeFileSync(path("key"), c.key);
  writeFileSync(path("ca.pem"), c.trustAnchors.join("\n"));
  return ["--cert", path("pem"), "--key", path("key"), "--ca", path("ca.pem")];
}
