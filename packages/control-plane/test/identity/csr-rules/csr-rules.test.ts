import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { generateKeyPair, type KeyPair, uriSans, verifyPeerChain, x509 } from "@weft/core";
import { IdentityService } from "@weft/core/model";
import { reportHardening } from "@weft/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, issueToken, startControlPlane } from "../../../src/index.ts";

const TD = "corp.test";
const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const PAYMENTS = `spiffe://${TD}/ns/shop/sa/payments`;

let dir: string;
let cp: ControlPlane;
let identity: Client<typeof IdentityService>;
let token: string;

type Name = { type: "url" | "dns" | "ip" | "email"; value: string };

/** A PKCS#10 request made directly (not with core's createCsr, which only writes good ones). */
async function csr(
  options: { sans?: Name[]; ca?: boolean; keyUsages?: number; signWith?: KeyPair } = {},
): Promise<string> {
  const keys = await generateKeyPair();
  const extensions: x509.Extension[] = [];
  if (options.sans) extensions.push(new x509.SubjectAlternativeNameExtension(options.sans));
  if (options.ca !== undefined)
    extensions.push(new x509.BasicConstraintsExtension(options.ca, undefined, true));
  if (options.keyUsages !== undefined) extensions.push(new x509.KeyUsagesExtension(options.keyUsages, true));
  const req = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: options.signWith ? { publicKey: keys.publicKey, privateKey: options.signWith.privateKey } : keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions,
  });
  return req.toString("pem");
}

async function sign(csrPem: string, credential = token) {
  return identity.sign({ csrPem, authentication: { case: "credential", value: credential } }).then(
    (res) => ({ ok: true as const, res }),
    (e: unknown) => ({ ok: false as const, err: ConnectError.from(e) }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-csr-rules-"));
  cp = await startControlPlane({ dataDir: dir, port: 0, trustDomain: TD });
  identity = createClient(IdentityService, createConnectTransport({ baseUrl: cp.url, httpVersion: "2" }));
  ({ token } = await issueToken(cp.store, { namespace: "shop", serviceAccount: "orders" }));
});

afterAll(async () => {
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const url = (value: string): Name => ({ type: "url", value });

const REFUSED: readonly [string, () => Promise<string>, RegExp][] = [
  [
    "an extra DNS SAN",
    () => csr({ sans: [url(ORDERS), { type: "dns", value: "orders.shop.svc" }] }),
    /asks for a DNS name \("orders\.shop\.svc"\)/,
  ],
  [
    "an IP SAN",
    () => csr({ sans: [url(ORDERS), { type: "ip", value: "10.0.0.7" }] }),
    /asks for an IP address/,
  ],
  [
    "an email SAN",
    () => csr({ sans: [url(ORDERS), { type: "email", value: "ops@corp.test" }] }),
    /asks for an email address/,
  ],
  ["a DNS SAN alone", () => csr({ sans: [{ type: "dns", value: "orders" }] }), /asks for a DNS name/],
  ["two URI SANs", () => csr({ sans: [url(ORDERS), url(PAYMENTS)] }), /asks for 2 URI SANs/],
  [
    "a URI SAN that is no SPIFFE ID",
    () => csr({ sans: [url("https://orders.corp.test/")] }),
    /URI SAN "https:\/\/orders\.corp\.test\/", which is not a SPIFFE ID/,
  ],
  ["CA:true", () => csr({ sans: [url(ORDERS)], ca: true }), /basicConstraints CA:true/],
  [
    "keyCertSign",
    () => csr({ sans: [url(ORDERS)], keyUsages: x509.KeyUsageFlags.keyCertSign }),
    /keyCertSign or cRLSign/,
  ],
  [
    "cRLSign",
    () =>
      csr({
        sans: [url(ORDERS)],
        keyUsages: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign,
      }),
    /keyCertSign or cRLSign/,
  ],
  [
    "a signature by another key (no proof of possession)",
    async () => csr({ sans: [url(ORDERS)], signWith: await generateKeyPair() }),
    /CSR signature does not verify/,
  ],
];

describe("the control plane's CA: CSR rules", () => {
  it.each(REFUSED)("refuses a CSR with %s, saying why", async (name, make, why) => {
    const outcome = await sign(await make());
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.err.code).toBe(Code.InvalidArgument);
    expect(outcome.err.rawMessage).toMatch(/^cannot sign this CSR: /);
    expect(outcome.err.rawMessage).toMatch(why);
    reportHardening({ class: "csr", case: `CSR with ${name}`, refused: true, reachedApp: false });
  });

  it.each([
    ["no SAN at all", () => csr()],
    ["its own SPIFFE ID", () => csr({ sans: [url(ORDERS)] })],
    ["another workload's SPIFFE ID", () => csr({ sans: [url(PAYMENTS)] })],
    ["an ID in another trust domain", () => csr({ sans: [url("spiffe://evil.test/ns/shop/sa/orders")] })],
    ["an ID in another namespace", () => csr({ sans: [url(`spiffe://${TD}/ns/kube-system/sa/admin`)] })],
  ])("a CSR naming %s gets exactly the identity the credential proves", async (_name, make) => {
    const outcome = await sign(await make());
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const { res } = outcome;
    expect(res.spiffeId).toBe(ORDERS);
    const leaf = new x509.X509Certificate(res.certificateChainPem[0] ?? "");
    expect(uriSans(leaf)).toEqual([ORDERS]);
    const otherNames = leaf
      .getExtensions(x509.SubjectAlternativeNameExtension)
      .flatMap((e) => e.names.items)
      .filter((n) => n.type !== "url");
    expect(otherNames).toEqual([]);
    expect(leaf.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const usages = leaf.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    expect(usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)).toBe(0);
    const verdict = await verifyPeerChain({
      chain: res.certificateChainPem,
      trustAnchors: res.trustAnchorsPem,
      trustDomain: TD,
      now: Date.now(),
    });
    expect(verdict.ok).toBe(true);
  });

  it.each([
    ["a forged credential", async () => "weft_forged"],
    [
      "an expired credential",
      async () =>
        (
          await issueToken(cp.store, {
            namespace: "shop",
            serviceAccount: "payments",
            ttlSeconds: 60,
            nowMs: Date.now() - 3_600_000,
          })
        ).token,
    ],
    ["no credential", async () => ""],
  ])("issues nothing for %s", async (name, credential) => {
    const outcome = await sign(await csr({ sans: [url(PAYMENTS)] }), await credential());
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.err.code).toBe(Code.Unauthenticated);
    expect(outcome.err.rawMessage).toMatch(/bootstrap credential is unknown or expired/);
    reportHardening({ class: "csr", case: `Sign with ${name}`, refused: true, reachedApp: false });
  });
});
