import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createCsr, generateKeyPair, spiffeIdFromCertificate, verifyPeerChain } from "@weft/core";
import { IdentityService } from "@weft/core/model";
import { afterEach, describe, expect, it } from "vitest";
import { issueToken, startControlPlane } from "../../src/index.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(dataDir?: string) {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "weft-ca-")));
  const cp = await startControlPlane({ dataDir: dir, port: 0, trustDomain: "corp.test" });
  cleanups.push(() => cp.close());
  if (!dataDir) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const identity = createClient(
    IdentityService,
    createConnectTransport({ baseUrl: cp.url, httpVersion: "2" }),
  );
  return { cp, identity, dir };
}

describe("the mesh certificate authority", () => {
  it("certifies the identity the credential names, never the one the CSR asks for", async () => {
    const { cp, identity } = await start();
    const { token } = await issueToken(cp.store, { namespace: "shop", serviceAccount: "orders" });
    const keys = await generateKeyPair();
    const csr = await createCsr({ keys, spiffeId: "spiffe://corp.test/ns/shop/sa/payments" });
    const res = await identity.sign({ csrPem: csr, authentication: { case: "credential", value: token } });
    expect(res.spiffeId).toBe("spiffe://corp.test/ns/shop/sa/orders");
    const leaf = res.certificateChainPem[0] ?? "";
    expect(spiffeIdFromCertificate(leaf).spiffeId).toBe("spiffe://corp.test/ns/shop/sa/orders");
    const verdict = await verifyPeerChain({
      chain: res.certificateChainPem,
      trustAnchors: res.trustAnchorsPem,
      trustDomain: "corp.test",
      now: Date.now(),
    });
    expect(verdict.ok).toBe(true);
  });

  it("refuses an unknown credential, and keeps its root across restarts", async () => {
    const { identity, cp, dir } = await start();
    const keys = await generateKeyPair();
    const csr = await createCsr({ keys, spiffeId: "spiffe://corp.test/ns/shop/sa/orders" });
    const outcome = await identity
      .sign({ csrPem: csr, authentication: { case: "credential", value: "weft_forged" } })
      .then(
        () => new Error("signed with a forged credential"),
        (e: unknown) => e,
      );
    const err = ConnectError.from(outcome);
    expect(err.code).toBe(Code.Unauthenticated);
    const root = cp.ca.trustAnchors[0];
    await cp.close();
    const again = await start(dir);
    expect(again.cp.ca.trustAnchors[0]).toBe(root);
  });
});
