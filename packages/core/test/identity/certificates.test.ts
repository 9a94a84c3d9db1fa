import { beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  createCsr,
  createIntermediateCa,
  createRootCa,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  type KeyPair,
  type PeerVerification,
  presentedChain,
  signLeaf,
  spiffeIdFromCertificate,
  verifyPeerChain,
  x509,
} from "../../src/identity/index.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 0, 1);
const TD = "weft.local";
const WEB = "spiffe://weft.local/ns/shop/sa/web";

let root: CertificateAuthority;
let leafKeys: KeyPair;
let csr: string;

async function leafFor(ca: CertificateAuthority, spiffeId = WEB, from = T0, to = T0 + DAY) {
  return signLeaf({ csr, ca, spiffeId, notBefore: from, notAfter: to });
}

/** A certificate made directly, to get shapes signLeaf refuses to make. */
async function rawLeaf(ca: CertificateAuthority, extensions: x509.Extension[]) {
  return x509.X509CertificateGenerator.create({
    subject: "CN=odd",
    issuer: ca.certificate.subjectName,
    notBefore: new Date(T0),
    notAfter: new Date(T0 + DAY),
    publicKey: leafKeys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions,
  });
}

function rejected(result: PeerVerification) {
  if (result.ok) throw new Error(`expected a rejection, got ${result.identity.spiffeId}`);
  return result;
}

beforeAll(async () => {
  root = await createRootCa({ trustDomain: TD, notBefore: T0 - DAY, notAfter: T0 + 365 * DAY });
  leafKeys = await generateKeyPair();
  csr = await createCsr({ keys: leafKeys, spiffeId: WEB });
});

describe("CSR and leaf signing", () => {
  it("a CSR signed by the CA verifies against the trust anchor", async () => {
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    const leaf = await leafFor(root);
    for (const chain of [leaf.toString("pem"), [leaf.rawData], [leaf]]) {
      const result = await verifyPeerChain({
        chain,
        trustAnchors: [root.certificate.toString("pem")],
        trustDomain: TD,
        now: T0 + HOUR,
      });
      expect(result.ok).toBe(true);
      if (result.ok) {
        expect(result.identity).toEqual({
          spiffeId: WEB,
          trustDomain: TD,
          namespace: "shop",
          serviceAccount: "web",
        });
        expect(result.path).toHaveLength(2);
      }
    }
  });

  it("the leaf carries the SPIFFE ID given to signLeaf, not the one the CSR asked for", async () => {
    const leaf = await leafFor(root, "spiffe://weft.local/ns/billing/sa/payments");
    const sans = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
    expect(sans).toEqual([{ type: "url", value: "spiffe://weft.local/ns/billing/sa/payments" }]);
    expect(spiffeIdFromCertificate(leaf.toString("pem")).spiffeId).toBe(
      "spiffe://weft.local/ns/billing/sa/payments",
    );
  });

  it("the leaf has the X.509-SVID extensions and the requested lifetime", async () => {
    const leaf = new x509.X509Certificate((await leafFor(root)).rawData);
    expect(leaf.subject).toBe("");
    expect(leaf.issuer).toBe(root.certificate.subject);
    expect(leaf.notBefore.getTime()).toBe(T0);
    expect(leaf.notAfter.getTime()).toBe(T0 + DAY);
    const bc = leaf.getExtension(x509.BasicConstraintsExtension);
    expect(bc?.ca).toBe(false);
    expect(bc?.critical).toBe(true);
    const ku = leaf.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    expect(ku?.critical).toBe(true);
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.critical).toBe(true);
    const ski = leaf.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const expectedSki = [...new Uint8Array(await leaf.publicKey.getKeyIdentifier())]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(ski).toBe(expectedSki);
    expect(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(
      root.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    expect(leaf.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
  });

  it("refuses what a CA must not sign, naming why", async () => {
    await expect(leafFor(root, "spiffe://other.org/ns/a/sa/b")).rejects.toThrow(
      "CA of trust domain weft.local cannot sign for trust domain other.org",
    );
    await expect(leafFor(root, "spiffe://weft.local")).rejects.toThrow("needs a path");
    await expect(leafFor(root, "spiffe://weft.local/ns//sa/b")).rejects.toThrow("empty segment");
    await expect(leafFor(root, WEB, T0, T0 + 400 * DAY)).rejects.toThrow("is after the CA's notAfter");
    await expect(leafFor(root, WEB, T0 - 2 * DAY, T0)).rejects.toThrow("is before the CA's notBefore");
    await expect(leafFor(root, WEB, T0, T0)).rejects.toThrow("is not after notBefore");
    await expect(
      signLeaf({ csr: "nonsense", ca: root, spiffeId: WEB, notBefore: T0, notAfter: T0 + 1 }),
    ).rejects.toThrow("CSR is not a PKCS#10 request");
    const leaf = await leafFor(root);
    const notCa = { certificate: leaf, privateKey: leafKeys.privateKey, chain: [] };
    await expect(leafFor(notCa)).rejects.toThrow("is not a CA");
  });

  it("refuses a CSR whose signature does not verify", async () => {
    const other = await generateKeyPair();
    // The request names one key and is signed with another: no proof of possession.
    const forged = await x509.Pkcs10CertificateRequestGenerator.create({
      keys: { publicKey: leafKeys.publicKey, privateKey: other.privateKey },
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    });
    await expect(
      signLeaf({ csr: forged.toString("pem"), ca: root, spiffeId: WEB, notBefore: T0, notAfter: T0 + DAY }),
    ).rejects.toThrow("CSR signature does not verify");
  });

  it("exports the private key as PKCS#8 PEM that imports back and signs", async () => {
    const pem = await exportPrivateKeyPem(leafKeys.privateKey);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const key = await importPrivateKeyPem(pem);
    const data = new TextEncoder().encode("weft");
    const alg = { name: "ECDSA", hash: "SHA-256" };
    const sig = await crypto.subtle.sign(alg, key, data);
    expect(await crypto.subtle.verify(alg, leafKeys.publicKey, sig, data)).toBe(true);
    const fixed = await generateKeyPair({ extractable: false });
    await expect(exportPrivateKeyPem(fixed.privateKey)).rejects.toThrow("not extractable");
  });
});

describe("peer chain verification", () => {
  const verify = (chain: x509.X509Certificate[], anchors = [root.certificate], now = T0 + HOUR) =>
    verifyPeerChain({ chain, trustAnchors: anchors, trustDomain: TD, now });

  it("rejects an expired certificate", async () => {
    const r = rejected(await verify([await leafFor(root)], undefined, T0 + DAY + 1000));
    expect(r.reason).toBe("expired");
    expect(r.message).toContain(`certificate of ${WEB} expired at 2025-01-02T00:00:00.000Z`);
  });

  it("rejects a certificate that is not yet valid", async () => {
    const r = rejected(await verify([await leafFor(root)], undefined, T0 - 1000));
    expect(r.reason).toBe("not-yet-valid");
    expect(r.message).toContain("is not valid before 2025-01-01T00:00:00.000Z");
  });

  it("rejects a peer from a foreign trust domain even when its CA is trusted", async () => {
    const foreign = await createRootCa({
      trustDomain: "other.org",
      notBefore: T0 - DAY,
      notAfter: T0 + 30 * DAY,
    });
    const leaf = await leafFor(foreign, "spiffe://other.org/ns/shop/sa/web");
    const r = rejected(await verify([leaf], [root.certificate, foreign.certificate]));
    expect(r.reason).toBe("wrong-trust-domain");
    expect(r.message).toBe(
      "peer spiffe://other.org/ns/shop/sa/web is in trust domain other.org, not weft.local",
    );
  });

  it("rejects a certificate without a URI SAN", async () => {
    const leaf = await rawLeaf(root, [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "web.shop" }]),
    ]);
    const r = rejected(await verify([leaf]));
    expect(r.reason).toBe("no-uri-san");
    expect(r.message).toContain(`"CN=odd" has no URI SAN`);
    expect(() => spiffeIdFromCertificate(leaf.rawData)).toThrow("has no URI SAN");
  });

  it("rejects a certificate with two URI SANs", async () => {
    const leaf = await rawLeaf(root, [
      new x509.SubjectAlternativeNameExtension([
        { type: "url", value: WEB },
        { type: "url", value: "spiffe://weft.local/ns/shop/sa/admin" },
      ]),
    ]);
    const r = rejected(await verify([leaf]));
    expect(r.reason).toBe("several-uri-sans");
    expect(r.message).toContain("has 2 URI SANs");
  });

  it("rejects a URI SAN that is not a Weft workload identity", async () => {
    const leaf = await rawLeaf(root, [
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: "spiffe://weft.local/web" }]),
    ]);
    expect(rejected(await verify([leaf])).reason).toBe("bad-spiffe-id");
  });

  it("rejects a CA certificate used as a leaf", async () => {
    const r = rejected(await verify([root.certificate]));
    expect(r.reason).toBe("ca-as-leaf");
    expect(r.message).toContain(
      `CA certificate "${root.certificate.subject}" is presented as a workload certificate`,
    );
  });

  it("rejects a certificate from an unknown issuer, even one with the anchor's name", async () => {
    // Same subject name as the trusted root, different key: only the signature tells them apart.
    const impostor = await createRootCa({ trustDomain: TD, notBefore: T0 - DAY, notAfter: T0 + 30 * DAY });
    expect(impostor.certificate.subject).toBe(root.certificate.subject);
    const r = rejected(await verify([await leafFor(impostor)]));
    expect(r.reason).toBe("unknown-issuer");
    expect(r.message).toContain(
      `was issued by "${root.certificate.subject}", which is neither one of the 1 trust anchor(s)`,
    );
  });

  it("accepts leaves of the old and the new root while both are anchors (rotation overlap)", async () => {
    const next = await createRootCa({ trustDomain: TD, notBefore: T0 - DAY, notAfter: T0 + 730 * DAY });
    const oldLeaf = await leafFor(root);
    const newLeaf = await leafFor(next);
    const both = [root.certificate, next.certificate];
    for (const leaf of [oldLeaf, newLeaf]) {
      const r = await verify([leaf], both);
      expect(r.ok).toBe(true);
    }
    const nextOnly = await verify([oldLeaf], [next.certificate]);
    expect(rejected(nextOnly).reason).toBe("unknown-issuer");
    expect((await verify([newLeaf], [next.certificate])).ok).toBe(true);
  });

  it("follows intermediates the peer presents, and needs them", async () => {
    const intermediate = await createIntermediateCa({
      parent: root,
      trustDomain: TD,
      notBefore: T0 - DAY,
      notAfter: T0 + 90 * DAY,
    });
    const leaf = await leafFor(intermediate);
    const chain = presentedChain(leaf, intermediate);
    expect(chain).toHaveLength(2);
    const ok = await verify(chain);
    expect(ok.ok && ok.path.map((c) => c.subject)).toEqual([
      "",
      "CN=Weft intermediate CA, O=weft.local",
      root.certificate.subject,
    ]);
    expect(rejected(await verify([leaf])).reason).toBe("unknown-issuer");
    const late = rejected(await verify(chain, undefined, T0 + 91 * DAY));
    expect(late.reason).toBe("expired");
  });

  it("rejects input that is not certificates", async () => {
    const r = rejected(
      await verifyPeerChain({ chain: [], trustAnchors: [root.certificate], trustDomain: TD, now: T0 }),
    );
    expect(r).toMatchObject({ reason: "malformed", message: "the peer presented no certificate" });
    const r2 = rejected(
      await verifyPeerChain({
        chain: ["garbage"],
        trustAnchors: [root.certificate],
        trustDomain: TD,
        now: T0,
      }),
    );
    expect(r2.reason).toBe("malformed");
  });
});
