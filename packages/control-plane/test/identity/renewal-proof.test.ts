import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  createCsr,
  createRootCa,
  FakeClock,
  generateKeyPair,
  type Key,
  type KeyPair,
  renewalProofMessage,
  type SignedRenewalProof,
  signLeaf,
  signRenewalProof,
  spiffeIdFromCertificate,
  verifyPeerChain,
  x509,
} from "@weft/core";
import { IdentityService } from "@weft/core/model";
import { CertificateRotator, type IssuedCredentials, requestWorkloadCredentials } from "@weft/core/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, issueToken, startControlPlane } from "../../src/index.ts";

const TD = "corp.test";
const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const PAYMENTS = `spiffe://${TD}/ns/shop/sa/payments`;
const MINUTE = 60_000;

let dir: string;
let cp: ControlPlane;
let identity: Client<typeof IdentityService>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-renewal-proof-"));
  cp = await startControlPlane({ dataDir: dir, port: 0, trustDomain: TD });
  identity = createClient(IdentityService, createConnectTransport({ baseUrl: cp.url, httpVersion: "2" }));
});

afterAll(async () => {
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A token for shop/orders, and the function that revokes it (its record, expired now). */
async function ordersToken(): Promise<{ token: string; revoke: () => Promise<void> }> {
  const { token } = await issueToken(cp.store, { namespace: "shop", serviceAccount: "orders" });
  const revoke = () =>
    cp.store.putToken({
      hash: createHash("sha256").update(token).digest("hex"),
      namespace: "shop",
      serviceAccount: "orders",
      createdAtMs: Date.now() - MINUTE,
      expiresAtMs: Date.now() - 1,
    });
  return { token, revoke };
}

/** First credentials for shop/orders, through the same client code the data planes run. */
async function firstCredentials(token: string): Promise<IssuedCredentials> {
  return requestWorkloadCredentials({ url: cp.url, credential: token, spiffeId: ORDERS });
}

/** A leaf signed directly by `ca` for `spiffeId`, valid in [from, to] (epoch ms), with its keys. */
async function leafFrom(
  ca: Parameters<typeof signLeaf>[0]["ca"],
  spiffeId: string,
  from: number,
  to: number,
): Promise<{ chainPem: string; keys: KeyPair }> {
  const keys = await generateKeyPair();
  const leaf = await signLeaf({
    csr: await createCsr({ keys, spiffeId }),
    ca,
    spiffeId,
    notBefore: from,
    notAfter: to,
  });
  return { chainPem: leaf.toString("pem"), keys };
}

async function signRenewal(csrPem: string, proof: SignedRenewalProof) {
  return identity.sign({ csrPem, authentication: { case: "renewal", value: proof } }).then(
    (res) => ({ ok: true as const, res }),
    (e: unknown) => ({ ok: false as const, err: ConnectError.from(e) }),
  );
}

/** A fresh CSR for `spiffeId`, with a proof by `holder`'s key over it. */
async function renewalRequest(
  holder: { chainPem: string; privateKey: string | Key },
  spiffeId = ORDERS,
): Promise<{ csrPem: string; proof: SignedRenewalProof }> {
  const csrPem = await createCsr({ keys: await generateKeyPair(), spiffeId });
  const proof = await signRenewalProof({ csrPem, chainPem: holder.chainPem, privateKey: holder.privateKey });
  return { csrPem, proof };
}

describe("renewal by proof of possession, against the real control plane", () => {
  it("renews after the bootstrap token was revoked; the token alone no longer gets a certificate", async () => {
    const { token, revoke } = await ordersToken();
    const first = await firstCredentials(token);
    await revoke();

    const refused = await identity
      .sign({
        csrPem: await createCsr({ keys: await generateKeyPair(), spiffeId: ORDERS }),
        authentication: { case: "credential", value: token },
      })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(refused?.code).toBe(Code.Unauthenticated);

    const renewed = await requestWorkloadCredentials({
      url: cp.url,
      credential: token,
      spiffeId: ORDERS,
      current: first,
    });
    expect(renewed.spiffeId).toBe(ORDERS);
    expect(renewed.key).not.toBe(first.key);
    expect(spiffeIdFromCertificate(renewed.chain).spiffeId).toBe(ORDERS);
    const verdict = await verifyPeerChain({
      chain: renewed.chain,
      trustAnchors: renewed.trustAnchors,
      trustDomain: TD,
      now: Date.now(),
    });
    expect(verdict.ok).toBe(true);
    // And the renewed certificate renews in turn, still without a valid token.
    const again = await requestWorkloadCredentials({
      url: cp.url,
      credential: "",
      spiffeId: ORDERS,
      current: renewed,
    });
    expect(again.spiffeId).toBe(ORDERS);
  });

  it("refuses a proof signed by another key than the certificate's", async () => {
    const { token } = await ordersToken();
    const held = await firstCredentials(token);
    const other = await generateKeyPair();
    const req = await renewalRequest({ chainPem: held.chain, privateKey: other.privateKey });
    const out = await signRenewal(req.csrPem, req.proof);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.err.code).toBe(Code.PermissionDenied);
    expect(out.err.rawMessage).toContain("bad-signature");
    expect(out.err.rawMessage).toContain(ORDERS);
  });

  it("refuses a proof whose signature is over another CSR (the proof is bound to the request)", async () => {
    const { token } = await ordersToken();
    const held = await firstCredentials(token);
    const a = await renewalRequest({ chainPem: held.chain, privateKey: held.key });
    const b = await renewalRequest({ chainPem: held.chain, privateKey: held.key });
    const out = await signRenewal(b.csrPem, a.proof);
    expect(out.ok ? "signed" : out.err.code).toBe(Code.PermissionDenied);
  });

  it("refuses an expired certificate of this CA, naming its expiry", async () => {
    const now = Date.now();
    const expired = await leafFrom(cp.ca.authority, ORDERS, now - 30 * MINUTE, now - 10 * MINUTE);
    const req = await renewalRequest({ chainPem: expired.chainPem, privateKey: expired.keys.privateKey });
    const out = await signRenewal(req.csrPem, req.proof);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.err.code).toBe(Code.PermissionDenied);
    expect(out.err.rawMessage).toMatch(/\(expired\).*expired at/);
  });

  it("refuses a certificate from another CA of the same trust domain", async () => {
    const now = Date.now();
    const otherCa = await createRootCa({
      trustDomain: TD,
      notBefore: now - MINUTE,
      notAfter: now + 60 * MINUTE,
    });
    const foreign = await leafFrom(otherCa, ORDERS, now - MINUTE, now + 30 * MINUTE);
    const req = await renewalRequest({ chainPem: foreign.chainPem, privateKey: foreign.keys.privateKey });
    const out = await signRenewal(req.csrPem, req.proof);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.err.code).toBe(Code.PermissionDenied);
    expect(out.err.rawMessage).toContain("unknown-issuer");
  });

  it("refuses a CSR for another SPIFFE ID than the certificate's", async () => {
    const { token } = await ordersToken();
    const held = await firstCredentials(token);
    const req = await renewalRequest({ chainPem: held.chain, privateKey: held.key }, PAYMENTS);
    const out = await signRenewal(req.csrPem, req.proof);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.err.code).toBe(Code.PermissionDenied);
    expect(out.err.rawMessage).toContain("other-spiffe-id-asked");
    expect(out.err.rawMessage).toContain(PAYMENTS);
  });

  it("malformed proofs are invalid arguments: an algorithm that does not fit the key, a CSR naming no identity or a DNS name", async () => {
    const { token } = await ordersToken();
    const held = await firstCredentials(token);
    const req = await renewalRequest({ chainPem: held.chain, privateKey: held.key });
    const es384 = await signRenewal(req.csrPem, { ...req.proof, signatureAlgorithm: "ES384" as "ES256" });
    expect(
      es384.ok ? "signed" : [es384.err.code, es384.err.rawMessage.includes("algorithm-mismatch")],
    ).toEqual([Code.InvalidArgument, true]);

    const key = await importKey(held.key);
    for (const names of [[], [{ type: "dns" as const, value: "orders.shop" }]]) {
      const keys = await generateKeyPair();
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        keys,
        signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
        extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
      });
      const signature = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, renewalProofMessage(csr)),
      );
      const out = await signRenewal(csr.toString("pem"), { ...req.proof, signature });
      expect(out.ok ? "signed" : out.err.code).toBe(Code.InvalidArgument);
    }
  });

  it("first issuance still needs a valid token: none, or an unknown one, is refused", async () => {
    const csrPem = await createCsr({ keys: await generateKeyPair(), spiffeId: ORDERS });
    for (const authentication of [
      { case: undefined },
      { case: "credential" as const, value: "weft_bt_unknown" },
    ]) {
      const err = await identity.sign({ csrPem, authentication }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.Unauthenticated);
    }
  });
});

describe("CertificateRotator renews with the proof, and uses the token only past expiry", () => {
  it("renews with a revoked token, restarts from its cached certificate, and falls back to the token (and says so) once expired", async () => {
    const { token, revoke } = await ordersToken();
    const clock = new FakeClock();
    let skew = 0;
    const wallNow = () => Date.now() + skew;
    const events: string[] = [];
    let wake: (() => void) | undefined;
    const nextEvent = () =>
      new Promise<void>((resolve, reject) => {
        const bound = setTimeout(() => reject(new Error("no rotator event within 10 s")), 10_000);
        wake = () => {
          clearTimeout(bound);
          resolve();
        };
      });
    const installed: IssuedCredentials[] = [];
    const options = {
      url: cp.url,
      credential: token,
      spiffeId: ORDERS,
      clock,
      wallNow,
      random: () => 0,
      onCredentials: (c: IssuedCredentials) => {
        installed.push(c);
        events.push("credentials");
        wake?.();
      },
      onError: (e: unknown) => {
        events.push(`error:${Code[ConnectError.from(e).code]}`);
        wake?.();
      },
      onBootstrapFallback: (expiredAt: Date) => events.push(`fallback:${expiredAt.toISOString()}`),
    };
    const rotator = await CertificateRotator.start(options);
    try {
      await revoke();
      let woke = nextEvent();
      await clock.advance(rotator.nextAttemptInMs);
      await woke;
      expect(events).toEqual(["credentials", "credentials"]);
      expect(installed[1]?.key).not.toBe(installed[0]?.key);
      expect(installed[1]?.spiffeId).toBe(ORDERS);

      // A restart with the cached certificate: the revoked token is not needed either.
      const restarted = await CertificateRotator.start(
        { ...options, onCredentials: (c) => installed.push(c), onError: (e) => events.push(`restart:${e}`) },
        installed[1],
      );
      restarted.stop();
      expect(installed).toHaveLength(3);
      expect(installed[2]?.key).not.toBe(installed[1]?.key);
      expect(events).toEqual(["credentials", "credentials"]);

      // A long outage: the certificate in use has expired by the time renewal runs.
      const current = installed[1] as IssuedCredentials;
      skew = current.notAfter.getTime() - Date.now() + MINUTE;
      woke = nextEvent();
      await clock.advance(rotator.nextAttemptInMs);
      await woke;
      expect(events.slice(2)).toEqual([
        `fallback:${current.notAfter.toISOString()}`,
        // The token went out again, and it is revoked.
        "error:Unauthenticated",
      ]);
    } finally {
      rotator.stop();
    }
  });
});

async function importKey(pem: string): Promise<Key> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}
