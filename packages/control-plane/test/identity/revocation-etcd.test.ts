import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createCsr, generateKeyPair, signRenewalProof } from "@weft/core";
import { IdentityService } from "@weft/core/model";
import { type IssuedCredentials, requestWorkloadCredentials } from "@weft/core/transport";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, issueToken } from "../../src/index.ts";
import { openEtcdStore } from "../../src/store/etcd-store.ts";
import { Resources } from "../helpers.ts";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd-cluster.ts";

const TD = "corp.test";
const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;

const res = new Resources();
afterEach(() => res.closeAll());

let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await startEtcdCluster(1);
});
afterAll(() => cluster?.close());

/** A replica in this process with its own etcd client on `prefix`. */
async function replica(prefix: string): Promise<ControlPlane> {
  const store = await openEtcdStore({ hosts: cluster.hosts, prefix, onError: () => {} });
  res.add(() => store.close(), store);
  return res.controlPlane({ store, dataDir: await res.tempDir(), trustDomain: TD });
}

async function sign(
  at: ControlPlane,
  authentication:
    | { case: "credential"; value: string }
    | { case: "renewal"; value: Awaited<ReturnType<typeof signRenewalProof>> },
  csrPem: string,
) {
  const sessionManager = new Http2SessionManager(at.url);
  res.add(async () => sessionManager.abort(), undefined);
  const client = createClient(
    IdentityService,
    createConnectTransport({ baseUrl: at.url, httpVersion: "2", useBinaryFormat: true, sessionManager }),
  );
  return client.sign({ csrPem, authentication }).then(
    (r) => r.spiffeId,
    (e: unknown) => ConnectError.from(e),
  );
}

async function byToken(issuer: ControlPlane, at: ControlPlane) {
  const { token } = await issueToken(issuer.store, { namespace: "shop", serviceAccount: "orders" });
  const csrPem = await createCsr({ keys: await generateKeyPair(), spiffeId: ORDERS });
  return sign(at, { case: "credential", value: token }, csrPem);
}

async function byRenewal(at: ControlPlane, held: IssuedCredentials) {
  const csrPem = await createCsr({ keys: await generateKeyPair(), spiffeId: ORDERS });
  const proof = await signRenewalProof({ csrPem, chainPem: held.chain, privateKey: held.key });
  return sign(at, { case: "renewal", value: proof }, csrPem);
}

describe("revoked identities on two replicas sharing one etcd", { timeout: 60_000 }, () => {
  it("an ID revoked at replica A is refused at replica B; restored at B, A signs again; the list is shared", async () => {
    const prefix = `/weft-revocation-${process.pid}/`;
    const a = await replica(prefix);
    const b = await replica(prefix);
    const { token } = await issueToken(a.store, { namespace: "shop", serviceAccount: "orders" });
    const held = await requestWorkloadCredentials({ url: b.url, credential: token, spiffeId: ORDERS });

    await res.admin(a).revokeIdentity({ spiffeId: ORDERS, reason: "node compromised" });
    expect((await res.admin(b).listRevokedIdentities({})).identities.map((r) => r.reason)).toEqual([
      "node compromised",
    ]);
    for (const refused of [await byRenewal(b, held), await byToken(a, b)]) {
      expect(refused).toBeInstanceOf(ConnectError);
      const err = refused as ConnectError;
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.rawMessage).toContain(ORDERS);
      expect(err.rawMessage).toContain("reason: node compromised");
    }

    await res.admin(b).restoreIdentity({ spiffeId: ORDERS });
    expect(await byRenewal(a, held)).toBe(ORDERS);
    expect(await byToken(b, a)).toBe(ORDERS);
    const again = await res
      .admin(a)
      .restoreIdentity({ spiffeId: ORDERS })
      .catch((e: unknown) => ConnectError.from(e));
    expect((again as ConnectError).code).toBe(Code.NotFound);
  });
});
