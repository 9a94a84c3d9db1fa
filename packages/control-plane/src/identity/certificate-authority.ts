import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type CertificateAuthority,
  certificatesFromPem,
  createRootCa,
  exportPrivateKeyPem,
  importPrivateKeyPem,
  x509,
} from "@weft/core";
import type { CaMaterial } from "../store/config-store.ts";

const YEAR = 365 * 86_400_000;

/** The mesh CA a control plane signs with, and the anchors data planes must trust. */
export interface MeshCa {
  readonly trustDomain: string;
  readonly authority: CertificateAuthority;
  /** PEM roots to trust: the CA's own root first, then any others during a rotation overlap. */
  readonly trustAnchors: readonly string[];
}

export interface MeshCaOptions {
  readonly trustDomain: string;
  /** Where a generated root is kept (`ca/`), so restarts sign with the same root. */
  readonly dataDir?: string;
  /** A user's CA to sign with instead (PEM): a root, or an intermediate under the user's root. */
  readonly certificatePem?: string;
  readonly keyPem?: string;
  /** The issuing CA's chain up to and including the user's root, for an intermediate (PEM). */
  readonly chainPem?: string;
  /** Further roots to trust while anchors rotate (both old and new trusted during the overlap). */
  readonly extraTrustAnchors?: readonly string[];
  /** Replicas sharing a store keep one root there (see ConfigStore.sharedCa). */
  readonly shared?: (create: () => Promise<CaMaterial>) => Promise<CaMaterial>;
}

/**
 * Loads the CA a control plane signs with: the user's, else the one kept in the data
 * directory, else a new root (10 years) written there with its key readable by the owner only.
 */
export async function loadMeshCa(options: MeshCaOptions): Promise<MeshCa> {
  if (options.certificatePem && options.keyPem) {
    const certificate = new x509.X509Certificate(options.certificatePem);
    const chain = options.chainPem ? certificatesFromPem(options.chainPem) : [];
    const authority: CertificateAuthority = {
      certificate,
      privateKey: await importPrivateKeyPem(options.keyPem),
      chain,
    };
    const root = chain.length > 0 ? (chain[chain.length - 1] as x509.X509Certificate) : certificate;
    return {
      trustDomain: options.trustDomain,
      authority,
      trustAnchors: [root.toString("pem"), ...(options.extraTrustAnchors ?? [])],
    };
  }
  const newRoot = async (): Promise<CertificateAuthority> => {
    const now = Date.now();
    return createRootCa({
      trustDomain: options.trustDomain,
      notBefore: now - 3_600_000,
      notAfter: now + 10 * YEAR,
    });
  };
  if (options.shared) {
    const material = await options.shared(async () => {
      const root = await newRoot();
      return {
        certificatePem: root.certificate.toString("pem"),
        keyPem: await exportPrivateKeyPem(root.privateKey),
      };
    });
    const authority: CertificateAuthority = {
      certificate: new x509.X509Certificate(material.certificatePem),
      privateKey: await importPrivateKeyPem(material.keyPem),
      chain: [],
    };
    return {
      trustDomain: options.trustDomain,
      authority,
      trustAnchors: [material.certificatePem, ...(options.extraTrustAnchors ?? [])],
    };
  }
  if (!options.dataDir)
    throw new Error("the certificate authority needs a data directory, or a CA certificate and key");
  const dir = join(options.dataDir, "ca");
  const certPath = join(dir, "root-cert.pem");
  const keyPath = join(dir, "root-key.pem");
  let authority: CertificateAuthority;
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
    authority = {
      certificate: new x509.X509Certificate(certPem),
      privateKey: await importPrivateKeyPem(keyPem),
      chain: [],
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    authority = await newRoot();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(keyPath, await exportPrivateKeyPem(authority.privateKey), { mode: 0o600 });
    await writeFile(certPath, authority.certificate.toString("pem"));
  }
  return {
    trustDomain: options.trustDomain,
    authority,
    trustAnchors: [authority.certificate.toString("pem"), ...(options.extraTrustAnchors ?? [])],
  };
}
