import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../../src/identity/index.ts";
import { reportHardening } from "../../../src/testing/hardening-report.ts";
import { issueTestCredentials, testCertificateAuthority } from "../../../src/testing/index.ts";
import { MtlsH2Transport, TransportClient } from "../../../src/transport/index.ts";
import { freePort, joinMesh, tcpAccepts, type Workload } from "./join-mesh.ts";
import { startTestCa, type TestCaServer } from "./test-ca-server.ts";

const ORDERS = "spiffe://weft.local/ns/shop/sa/orders";
const FRONTEND = "spiffe://weft.local/ns/shop/sa/frontend";

let root: CertificateAuthority;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  root = await testCertificateAuthority();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function ca(): Promise<TestCaServer> {
  const server = await startTestCa({
    signer: root,
    identities: { "orders-token": ORDERS },
    ttlMs: 3_600_000,
  });
  cleanups.push(() => server.close());
  return server;
}

function track(w: Workload): Workload {
  cleanups.push(async () => {
    w.rotator.stop();
    await w.server?.close({ graceMs: 0 });
  });
  return w;
}

const settled = (p: Promise<unknown>) =>
  Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise((r) => setTimeout(() => r(false), 50)),
  ]);

describe("a data plane serves no mTLS before it holds a certificate", () => {
  it("while the CA withholds the certificate, the mesh port is closed; once issued, it serves mTLS", async () => {
    const cp = await ca();
    cp.setMode("withhold");
    const port = await freePort();
    const joining = joinMesh({
      url: cp.url,
      credential: "orders-token",
      spiffeId: ORDERS,
      listenPort: port,
      timeoutMs: 30_000,
    });
    joining.then(track, () => {});
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await settled(joining)).toBe(false);
    expect(await tcpAccepts(port)).toBe(false);
    reportHardening({ class: "tls", case: "mesh port before certificate", refused: true, reachedApp: false });

    cp.setMode("serve");
    const w = await joining;
    expect(w.server?.port).toBe(port);
    const client = new TransportClient({
      transport: new MtlsH2Transport(await issueTestCredentials(root, FRONTEND)),
      place: "client",
      keepalive: false,
    });
    cleanups.push(() => client.close());
    const res = await client.request(
      { key: `127.0.0.1:${port}`, address: "127.0.0.1", port, identity: ORDERS },
      { method: "GET", path: "/", authority: "orders" },
    );
    res.body.resume();
    expect(res.status).toBe(200);
    expect(w.served).toBe(1);
  });

  it("a CA that refuses: joining fails with its reason and nothing listens", async () => {
    const cp = await ca();
    cp.setMode("refuse");
    const port = await freePort();
    await expect(
      joinMesh({ url: cp.url, credential: "orders-token", spiffeId: ORDERS, listenPort: port }),
    ).rejects.toThrow("the test CA is down");
    expect(await tcpAccepts(port)).toBe(false);
  });

  it("a CA that accepts the call and never answers: the Sign call times out, nothing listens", async () => {
    const cp = await ca();
    cp.setMode("withhold");
    const port = await freePort();
    const started = Date.now();
    await expect(
      joinMesh({
        url: cp.url,
        credential: "orders-token",
        spiffeId: ORDERS,
        listenPort: port,
        timeoutMs: 500,
      }),
    ).rejects.toThrow(/deadline|timed out|timeout/i);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await tcpAccepts(port)).toBe(false);
  });
});
