// Certificates that break one X.509-SVID rule at a time, made directly with @peculiar/x509 so
// that nothing in Weft's own signing code (which refuses most of them) stands in the way.
import { exportPrivateKeyPem, generateKeyPair, type KeyPair, x509 } from "../../../src/identity/index.ts";

const HOUR = 3_600_000;
const ALG = { name: "ECDSA", hash: "SHA-256" } as const;

export interface ForgedCa {
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
  readonly pem: string;
}

/** A root CA (valid a day either side of now) carrying `spiffe://<trustDomain>` as URI SAN. */
export async function forgeRoot(trustDomain: string, commonName = `${trustDomain} root`): Promise<ForgedCa> {
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [commonName] }, { O: [trustDomain] }],
    notBefore: new Date(Date.now() - 24 * HOUR),
    notAfter: new Date(Date.now() + 24 * HOUR),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }]),
    ],
  });
  return { certificate, keys, pem: certificate.toString("pem") };
}

export interface LeafSpec {
  /** Subject alternative names; one URI SAN for a well-formed SVID. */
  readonly sans: readonly { type: "url" | "dns" | "ip" | "email"; value: string }[];
  readonly ca?: boolean;
  readonly keyUsages?: number;
  /** Offsets from now, ms. */
  readonly notBefore?: number;
  readonly notAfter?: number;
}

export interface ForgedLeaf {
  readonly certificate: x509.X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A leaf signed by `issuer` exactly as `spec` says, with the extensions a mesh leaf has. */
export async function forgeLeaf(issuer: ForgedCa, spec: LeafSpec): Promise<ForgedLeaf> {
  const keys = await generateKeyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(spec.ca ?? false, undefined, true),
    new x509.KeyUsagesExtension(spec.keyUsages ?? x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
  ];
  if (spec.sans.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(spec.sans.map((s) => ({ type: s.type, value: s.value }))),
    );
  }
  const certificate = await x509.X509CertificateGenerator.create({
    subject: "CN=workload",
    issuer: issuer.certificate.subject,
    notBefore: new Date(Date.now() + (spec.notBefore ?? -HOUR)),
    notAfter: new Date(Date.now() + (spec.notAfter ?? HOUR)),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return {
    certificate,
    certPem: certificate.toString("pem"),
    keyPem: await exportPrivateKeyPem(keys.privateKey),
  };
}

/** A leaf for one SPIFFE ID, well formed in every other way. */
export function forgeSvid(
  issuer: ForgedCa,
  spiffeId: string,
  spec: Partial<LeafSpec> = {},
): Promise<ForgedLeaf> {
  return forgeLeaf(issuer, { sans: [{ type: "url", value: spiffeId }], ...spec });
}
