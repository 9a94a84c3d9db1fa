// Test certificates: a mesh CA and SPIFFE X.509-SVID leaves, made in memory with WebCrypto.
// @peculiar/x509 (tsyringe) needs Reflect metadata; core's identity folder provides the shim.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { MeshCredentials } from "../../src/transport/index.ts";

x509.cryptoProvider.set(globalThis.crypto);

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;

// Node's global WebCrypto types (lib "es2023" has no DOM CryptoKeyPair).
type WebCryptoKey = InstanceType<typeof globalThis.CryptoKey>;
type KeyPair = { publicKey: WebCryptoKey; privateKey: WebCryptoKey };

function generateKeys(): Promise<KeyPair> {
  return globalThis.crypto.subtle.generateKey(alg, true, ["sign", "verify"]) as Promise<KeyPair>;
}

export interface TestCa {
  readonly name: string;
  readonly pem: string;
  readonly cert: x509.X509Certificate;
  readonly keys: KeyPair;
}

export async function createCa(name: string): Promise<TestCa> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, pem: cert.toString("pem"), cert, keys };
}

export interface LeafOptions {
  /** Days relative to now; negative for the past. */
  readonly notBeforeDays?: number;
  readonly notAfterDays?: number;
}

/** A workload key and certificate for `spiffeId`, issued by `ca`, trusting `anchors` (default: ca). */
export async function issueLeaf(
  ca: TestCa,
  spiffeId: string,
  options: LeafOptions & { anchors?: readonly TestCa[] } = {},
): Promise<MeshCredentials> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    subject: "CN=workload",
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() + (options.notBeforeDays ?? -1) * DAY),
    notAfter: new Date(Date.now() + (options.notAfterDays ?? 1) * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  const pkcs8 = await globalThis.crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
    chain: cert.toString("pem"),
    trustAnchors: (options.anchors ?? [ca]).map((a) => a.pem),
  };
}

export const SERVER_ID = "spiffe://weft.local/ns/shop/sa/orders";
export const CLIENT_ID = "spiffe://weft.local/ns/shop/sa/frontend";
export const OTHER_ID = "spiffe://weft.local/ns/shop/sa/payments";
