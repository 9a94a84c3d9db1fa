import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createCsr, generateKeyPair, signRenewalProof } from "@weft/core";
import { IdentityService } from "@weft/core/model";
import { type IssuedCredentials, requestWorkloadCredentials } from "@weft/core/transport";
import { afterEach, describe, expect, it } from "vitest";
import { type ControlPlane, issueToken } from "../../src/index.ts";
import { Resources } from "../helpers.ts";

const TD = "corp.test";
const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const PAYMENTS = `spiffe://${TD}/ns/shop/sa/payments`;

const res = new Resources();
afterEach(() => res.closeAll());

function identityClient(url: string): Client<typeof IdentityService> {
  const sessionManager = new Http2SessionManager(url);
  res.add(async () => sessionManager.abort(), undefined);
  return createClient(
    IdentityService,
    createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, sessionManager }),
  );
}

type Outcome = { ok: true; spiffeId: string } | { ok: false; code: Code; message: string };

const outcome = (p: Promise<{ spiffeId: string }>): Promise<Outcome> =>
  p.then(
    (r) => ({ ok: true as const, spiffeId: r.spiffeId }),
    (e: unknown) => {
      const err = ConnectError.from(e);
      return { ok: false as const, code: err.code, message: err.rawMessage };
    },
  );

/** Sign with a fresh bootstrap token for shop/`sa`, issued at `cp`. */
async function signWithToken(cp: ControlPlane, at: ControlPlane, sa = "orders"): Promise<Outcome> {
  const { token } = await issueToken(cp.store, { namespace: "shop", serviceAccount: sa });
  const csrPem = await createCsr({
    keys: await generateKeyPair(),
    spiffeId: `spiffe://${TD}/ns/shop/sa/${sa}`,
  });
  return outcome(
    identityClient(at.url).sign({ csrPem, authentication: { case: "credential", value: token } }),
  );
}

/** Sign a renewal: a fresh CSR with a proof by the key of the certificate `held`. */
async function signRenewal(at: ControlPlane, held: IssuedCredentials): Promise<Outcome> {
  const csrPem = await createCsr({ keys: await generateKeyPair(), spiffeId: held.spiffeId });
  const proof = await signRenewalProof({ csrPem, chainPem: held.chain, privateKey: held.key });
  return outcome(identityClient(at.url).sign({ csrPem, authentication: { case: "renewal", value: proof } }));
}

async function firstCredentials(cp: ControlPlane): Promise<IssuedCredentials> {
  const { token } = await issueToken(cp.store, { namespace: "shop", serviceAccount: "orders" });
  return requestWorkloadCredentials({ url: cp.url, credential: token, spiffeId: ORDERS });
}

describe("revoked identities, against the real control plane on the file store", { timeout: 30_000 }, () => {
  it("a revoked ID gets nothing, by renewal proof or fresh token, with the reason; restored, both work again", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir(), trustDomain: TD });
    const admin = res.admin(cp);
    const held = await firstCredentials(cp);
    expect(await signRenewal(cp, held)).toEqual({ ok: true, spiffeId: ORDERS });

    const revoked = await admin.revokeIdentity({ spiffeId: ORDERS, reason: "key leaked in CI logs" });
    expect(revoked.revoked?.spiffeId).toBe(ORDERS);

    for (const refused of [await signRenewal(cp, held), await signWithToken(cp, cp)]) {
      expect(refused.ok).toBe(false);
      if (refused.ok) continue;
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(refused.message).toContain(`${ORDERS} was revoked at `);
      expect(refused.message).toContain("reason: key leaked in CI logs");
    }
    // Only that identity: another of the same namespace still gets certificates.
    expect(await signWithToken(cp, cp, "payments")).toEqual({ ok: true, spiffeId: PAYMENTS });

    const listed = await admin.listRevokedIdentities({});
    expect(listed.identities.map((r) => [r.spiffeId, r.reason])).toEqual([[ORDERS, "key leaked in CI logs"]]);
    expect(Number(listed.identities[0]?.revokedAt?.seconds)).toBeGreaterThan(Date.now() / 1000 - 60);

    const restored = await admin.restoreIdentity({ spiffeId: ORDERS });
    expect(restored.restored?.reason).toBe("key leaked in CI logs");
    expect(await signRenewal(cp, held)).toEqual({ ok: true, spiffeId: ORDERS });
    expect(await signWithToken(cp, cp)).toEqual({ ok: true, spiffeId: ORDERS });
    expect((await admin.listRevokedIdentities({})).identities).toEqual([]);

    const again = await admin
      .restoreIdentity({ spiffeId: ORDERS })
      .catch((e: unknown) => ConnectError.from(e));
    expect(again).toBeInstanceOf(ConnectError);
    expect((again as ConnectError).code).toBe(Code.NotFound);
    expect((again as ConnectError).rawMessage).toContain(`${ORDERS} is not revoked`);
  });

  it("refuses an ID that is not a SPIFFE ID, not a workload identity, or of another trust domain, naming it", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir(), trustDomain: TD });
    const admin = res.admin(cp);
    const cases: [string, string][] = [
      ["spiffe://corp.test/ns/shop/sa/", "path ends with '/'"],
      ["https://corp.test/ns/shop/sa/orders", `scheme "https" is not 'spiffe'`],
      [`spiffe://${TD}/shop/orders`, "not a Weft workload identity"],
      [
        "spiffe://other.test/ns/shop/sa/orders",
        `trust domain "other.test", but this CA issues identities of "${TD}"`,
      ],
    ];
    for (const [id, problem] of cases) {
      for (const call of [
        () => admin.revokeIdentity({ spiffeId: id, reason: "x" }),
        () => admin.restoreIdentity({ spiffeId: id }),
      ]) {
        const err = await call().then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect([err?.code, err?.rawMessage.includes(id), err?.rawMessage.includes(problem)]).toEqual([
          Code.InvalidArgument,
          true,
          true,
        ]);
      }
    }
    expect((await admin.listRevokedIdentities({})).identities).toEqual([]);
  });

  it("the list survives a restart on the same data directory", async () => {
    const dataDir = await res.tempDir();
    const first = await res.controlPlane({ dataDir, trustDomain: TD });
    await res.admin(first).revokeIdentity({ spiffeId: ORDERS, reason: "decommissioned" });
    await res.admin(first).revokeIdentity({ spiffeId: PAYMENTS });
    await first.close();

    const second = await res.controlPlane({ dataDir, trustDomain: TD });
    const listed = await res.admin(second).listRevokedIdentities({});
    expect(listed.identities.map((r) => [r.spiffeId, r.reason])).toEqual([
      [ORDERS, "decommissioned"],
      [PAYMENTS, ""],
    ]);
    const refused = await signWithToken(second, second, "payments");
    expect(refused.ok ? "signed" : [refused.code, refused.message.includes("no reason given")]).toEqual([
      Code.PermissionDenied,
      true,
    ]);
  });
});
