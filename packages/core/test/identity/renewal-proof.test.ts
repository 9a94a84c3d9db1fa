import { describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  createIntermediateCa,
  createRootCa,
  type Key,
  type KeyPair,
  presentedChain,
  renewalProofMessage,
  signLeaf,
  signRenewalProof,
  verifyRenewalProof,
  x509,
} from "../../src/identity/index.ts";

// The wire-level refusals (expired, foreign CA, other key, other SPIFFE ID) are tested against
// the real control plane in packages/control-plane/test/identity/renewal-proof.test.ts; these
// cover what the verifier decides alone: each algorithm it names, and chains through an
// intermediate.

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const TD = "weft.local";
const WEB = "spiffe://weft.local/ns/shop/sa/web";

const KEYS = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  ES384: { name: "ECDSA", namedCurve: "P-384" },
  RS256: {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
} as const;
const SIGN = {
  ES256: { name: "ECDSA", hash: "SHA-256" },
  ES384: { name: "ECDSA", hash: "SHA-384" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
} as const;

async function keysOf(alg: keyof typeof KEYS): Promise<KeyPair> {
  return (await crypto.subtle.generateKey(KEYS[alg], true, ["sign", "verify"])) as KeyPair;
}

async function csrFor(
  keys: KeyPair,
  alg: keyof typeof KEYS,
  spiffeId = WEB,
): Promise<x509.Pkcs10CertificateRequest> {
  return x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: SIGN[alg],
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }])],
  });
}

async function leafWith(ca: CertificateAuthority, alg: keyof typeof KEYS) {
  const keys = await keysOf(alg);
  const leaf = await signLeaf({
    csr: await csrFor(keys, alg),
    ca,
    spiffeId: WEB,
    notBefore: T0,
    notAfter: T0 + HOUR,
  });
  return { keys, chain: presentedChain(leaf, ca).map((c) => c.toString("pem")) };
}

async function proofBy(privateKey: Key, alg: keyof typeof KEYS, csr: x509.Pkcs10CertificateRequest) {
  return new Uint8Array(await crypto.subtle.sign(SIGN[alg], privateKey, renewalProofMessage(csr)));
}

/** A root valid 10 h around T0 and an intermediate under it valid 5 h. */
async function rootAndIntermediate() {
  const root = await createRootCa({ trustDomain: TD, notBefore: T0 - HOUR, notAfter: T0 + 10 * HOUR });
  const inter = await createIntermediateCa({
    trustDomain: TD,
    parent: root,
    notBefore: T0 - HOUR,
    notAfter: T0 + 5 * HOUR,
  });
  return { root, inter };
}

describe("renewal proof verification", () => {
  it.each(["ES256", "ES384", "RS256"] as const)(
    "accepts %s with a key of its kind, through an intermediate",
    async (alg) => {
      const { root, inter } = await rootAndIntermediate();
      const held = await leafWith(inter, alg);
      const next = await csrFor(await keysOf("ES256"), "ES256");
      const verdict = await verifyRenewalProof({
        csrPem: next.toString("pem"),
        proof: {
          certificateChainPem: held.chain,
          signatureAlgorithm: alg,
          signature: await proofBy(held.keys.privateKey, alg, next),
        },
        trustAnchors: [root.certificate],
        trustDomain: TD,
        now: T0 + 1_000,
      });
      expect(verdict.ok ? verdict.identity.spiffeId : verdict.message).toBe(WEB);
      // Without the intermediate in the chain, the leaf no longer reaches the anchor.
      const cut = await verifyRenewalProof({
        csrPem: next.toString("pem"),
        proof: {
          certificateChainPem: held.chain.slice(0, 1),
          signatureAlgorithm: alg,
          signature: await proofBy(held.keys.privateKey, alg, next),
        },
        trustAnchors: [root.certificate],
        trustDomain: TD,
        now: T0 + 1_000,
      });
      expect(cut.ok ? "accepted" : cut.reason).toBe("unknown-issuer");
    },
  );

  it("refuses an algorithm that does not fit the leaf's key, an unknown one, and a signature without the context prefix", async () => {
    const root = await createRootCa({ trustDomain: TD, notBefore: T0 - HOUR, notAfter: T0 + 10 * HOUR });
    const held = await leafWith(root, "ES384");
    const next = await csrFor(await keysOf("ES256"), "ES256");
    const base = {
      csrPem: next.toString("pem"),
      trustAnchors: [root.certificate],
      trustDomain: TD,
      now: T0 + 1_000,
    };
    const good = await proofBy(held.keys.privateKey, "ES384", next);
    const named = async (signatureAlgorithm: string, signature = good) =>
      verifyRenewalProof({
        ...base,
        proof: { certificateChainPem: held.chain, signatureAlgorithm, signature },
      });
    expect((await named("ES384")).ok).toBe(true);
    expect(await named("ES256")).toMatchObject({ ok: false, reason: "algorithm-mismatch" });
    expect(await named("toString")).toMatchObject({ ok: false, reason: "unknown-algorithm" });
    const bare = new Uint8Array(await crypto.subtle.sign(SIGN.ES384, held.keys.privateKey, next.rawData));
    expect(await named("ES384", bare)).toMatchObject({ ok: false, reason: "bad-signature" });
  });

  it("signRenewalProof writes what verifyRenewalProof accepts, one certificate an entry", async () => {
    const { root, inter } = await rootAndIntermediate();
    const held = await leafWith(inter, "ES256");
    const next = (await csrFor(await keysOf("ES256"), "ES256")).toString("pem");
    const proof = await signRenewalProof({
      csrPem: next,
      chainPem: held.chain.join("\n"),
      privateKey: held.keys.privateKey,
    });
    expect(proof.certificateChainPem).toHaveLength(2);
    expect(proof.signatureAlgorithm).toBe("ES256");
    const verdict = await verifyRenewalProof({
      csrPem: next,
      proof,
      trustAnchors: [root.certificate],
      trustDomain: TD,
      now: T0 + 1_000,
    });
    expect(verdict.ok).toBe(true);
  });
});
