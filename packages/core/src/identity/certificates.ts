import { csrProblem } from "./csr.ts";
import { generateKeyPair } from "./keys.ts";
import { formatSpiffeId, parseSpiffeId, SpiffeIdError } from "./spiffe.ts";
import { uriSans } from "./svid.ts";
import type { AlgorithmParams, Key, KeyPair } from "./webcrypto.ts";
import { x509 } from "./x509.ts";

/** A signing certificate with its private key: the mesh root, or an intermediate below it. */
export interface CertificateAuthority {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: Key;
  /** Certificates between `certificate` and the trust anchor, nearest first; empty for a root. */
  readonly chain: readonly x509.X509Certificate[];
}

/** A point in wall-clock time: a Date, or epoch milliseconds. */
export type Instant = Date | number;

export interface CaOptions {
  trustDomain: string;
  notBefore: Instant;
  notAfter: Instant;
  /** Generated (ECDSA P-256) when absent. */
  keys?: KeyPair;
  /** Subject common name; "Weft root CA" or "Weft intermediate CA" when absent. */
  commonName?: string;
}

export interface SignLeafOptions {
  /** PEM PKCS#10 request, or a parsed one. Its signature is checked (proof of possession). */
  csr: string | x509.Pkcs10CertificateRequest;
  ca: CertificateAuthority;
  /**
   * The identity certified. Decided by the caller, never read from the CSR; a CSR that asks
   * for more than one SPIFFE ID (other names, a CA, signing usages) is refused (csrProblem).
   */
  spiffeId: string;
  notBefore: Instant;
  notAfter: Instant;
}

const CA_KEY_USAGES =
  x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;
const LEAF_KEY_USAGES = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;

/** A self-signed root CA for `trustDomain`, carrying the trust domain's SPIFFE ID as URI SAN. */
export async function createRootCa(options: CaOptions): Promise<CertificateAuthority> {
  const trustDomainId = formatSpiffeId(options.trustDomain);
  const { notBefore, notAfter } = window("root CA", options.notBefore, options.notAfter);
  const keys = options.keys ?? (await generateKeyPair());
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [options.commonName ?? "Weft root CA"] }, { O: [options.trustDomain] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: trustDomainId }]),
    ],
  });
  return { certificate, privateKey: keys.privateKey, chain: [] };
}

/** An intermediate CA signed by `parent`, for meshes whose root lives elsewhere (offline, upstream). */
export async function createIntermediateCa(
  options: CaOptions & { parent: CertificateAuthority },
): Promise<CertificateAuthority> {
  const { parent } = options;
  const trustDomainId = formatSpiffeId(options.trustDomain);
  checkCaMayIssue(parent, options.trustDomain);
  const { notBefore, notAfter } = window("intermediate CA", options.notBefore, options.notAfter);
  checkWithinCa(parent, notBefore, notAfter);
  const keys = options.keys ?? (await generateKeyPair());
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [options.commonName ?? "Weft intermediate CA"] }, { O: [options.trustDomain] }],
    issuer: parent.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: parent.privateKey,
    signingAlgorithm: signingAlgorithm(parent.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await authorityKeyIdentifier(parent.certificate),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: trustDomainId }]),
    ],
  });
  return { certificate, privateKey: keys.privateKey, chain: [parent.certificate, ...parent.chain] };
}

/**
 * Signs a workload certificate (X.509-SVID) for the key in `csr`. The identity is
 * `spiffeId`, never what the CSR asks for: the caller (the control plane's CA) decides it
 * from the credential that came with the request. Throws an Error naming what is wrong
 * with the request, the identity, the lifetime or the CA.
 */
export async function signLeaf(options: SignLeafOptions): Promise<x509.X509Certificate> {
  const { ca } = options;
  const csr = parseCsr(options.csr);
  if (!(await csr.verify()))
    throw new Error("CSR signature does not verify: the requester did not prove it holds the key");
  checkPublicKey(csr.publicKey);
  const refused = csrProblem(csr);
  if (refused) throw new Error(refused);
  const id = parseSpiffeId(options.spiffeId);
  if (id.path === "") {
    throw new SpiffeIdError(
      options.spiffeId,
      "a workload certificate needs a path; this is a trust domain's ID",
    );
  }
  checkCaMayIssue(ca, id.trustDomain);
  const { notBefore, notAfter } = window("leaf", options.notBefore, options.notAfter);
  checkWithinCa(ca, notBefore, notAfter);
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // An empty subject, as the X.509-SVID specification prefers: the identity is the URI SAN,
    // which RFC 5280 then requires to be critical.
    subject: [],
    issuer: ca.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: csr.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: signingAlgorithm(ca.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(LEAF_KEY_USAGES, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      await authorityKeyIdentifier(ca.certificate),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: id.id }], true),
    ],
  });
}

/** The chain a workload presents: its leaf, then the CA's certificates up to (not including) the root. */
export function presentedChain(leaf: x509.X509Certificate, ca: CertificateAuthority): x509.X509Certificate[] {
  return ca.chain.length === 0 ? [leaf] : [leaf, ca.certificate, ...ca.chain.slice(0, -1)];
}

function parseCsr(csr: string | x509.Pkcs10CertificateRequest): x509.Pkcs10CertificateRequest {
  if (csr instanceof x509.Pkcs10CertificateRequest) return csr;
  try {
    return new x509.Pkcs10CertificateRequest(csr);
  } catch (err) {
    throw new Error(`CSR is not a PKCS#10 request (PEM or DER): ${(err as Error).message}`, { cause: err });
  }
}

function checkPublicKey(key: x509.PublicKey): void {
  const alg = key.algorithm as { name?: string; namedCurve?: string; modulusLength?: number };
  if (alg.name === "ECDSA" && (alg.namedCurve === "P-256" || alg.namedCurve === "P-384")) return;
  if (alg.name?.startsWith("RSA") && (alg.modulusLength ?? 0) >= 2048) return;
  const detail = alg.namedCurve ?? (alg.modulusLength ? `${alg.modulusLength} bits` : "");
  throw new Error(
    `CSR key ${[alg.name, detail].filter(Boolean).join(" ")} is not accepted; use ECDSA P-256/P-384 or RSA of 2048 bits or more`,
  );
}

function checkCaMayIssue(ca: CertificateAuthority, trustDomain: string): void {
  const bc = ca.certificate.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca)
    throw new Error(`CA certificate ${ca.certificate.subject} is not a CA (basicConstraints CA:false)`);
  // A CA that names its trust domain (every CA made here does) signs for that domain only.
  for (const uri of uriSans(ca.certificate)) {
    if (!uri.startsWith("spiffe://")) continue;
    const caDomain = parseSpiffeId(uri).trustDomain;
    if (caDomain !== trustDomain) {
      throw new Error(`CA of trust domain ${caDomain} cannot sign for trust domain ${trustDomain}`);
    }
  }
}

function checkWithinCa(ca: CertificateAuthority, notBefore: Date, notAfter: Date): void {
  const c = ca.certificate;
  if (notBefore < c.notBefore) {
    throw new Error(
      `notBefore ${notBefore.toISOString()} is before the CA's notBefore ${c.notBefore.toISOString()}`,
    );
  }
  if (notAfter > c.notAfter) {
    throw new Error(
      `notAfter ${notAfter.toISOString()} is after the CA's notAfter ${c.notAfter.toISOString()}`,
    );
  }
}

function window(what: string, from: Instant, to: Instant): { notBefore: Date; notAfter: Date } {
  const notBefore = toWholeSecond(from);
  const notAfter = toWholeSecond(to);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new Error(`${what} validity has an invalid date`);
  }
  if (notAfter <= notBefore) {
    throw new Error(
      `${what} notAfter ${notAfter.toISOString()} is not after notBefore ${notBefore.toISOString()}`,
    );
  }
  return { notBefore, notAfter };
}

// X.509 times have one-second resolution; rounding here keeps checks and the encoded dates equal.
function toWholeSecond(t: Instant): Date {
  const ms = typeof t === "number" ? t : t.getTime();
  return new Date(Math.floor(ms / 1000) * 1000);
}

async function authorityKeyIdentifier(
  issuer: x509.X509Certificate,
): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey);
}

function signingAlgorithm(key: Key): AlgorithmParams {
  const alg = key.algorithm as { name?: string; namedCurve?: string };
  if (alg.name === "ECDSA")
    return { name: "ECDSA", hash: alg.namedCurve === "P-384" ? "SHA-384" : "SHA-256" };
  if (alg.name === "RSASSA-PKCS1-v1_5") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  throw new Error(`CA key algorithm ${alg.name} is not supported; use ECDSA or RSASSA-PKCS1-v1_5`);
}

/** 128 random bits, positive and of fixed length, as RFC 5280 and the CA/B forum ask. */
function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}
