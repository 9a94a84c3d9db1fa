import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../../src/identity/index.ts";
import { issueTestCredentials, testCertificateAuthority } from "../../../src/testing/index.ts";
import {
  type MeshCredentials,
  type MeshServer,
  MtlsH2Transport,
  TransportClient,
} from "../../../src/transport/index.ts";

const ORDERS = "spiffe://weft.local/ns/shop/sa/orders";
const FRONTEND = "spiffe://weft.local/ns/shop/sa/frontend";

let rootA: CertificateAuthority;
let rootB: CertificateAuthority;
let serverTransport: MtlsH2Transport;
let clientTransport: MtlsH2Transport;
let server: MeshServer;
let persistent: TransportClient;

async function creds(
  id: string,
  signer: CertificateAuthority,
  anchors: CertificateAuthority[],
): Promise<MeshCredentials> {
  return issueTestCredentials(signer, id, { anchors });
}

function endpoint() {
  return { key: `127.0.0.1:${server.port}`, address: "127.0.0.1", port: server.port, identity: ORDERS };
}

async function call(c: TransportClient): Promise<void> {
  const res = await c.request(endpoint(), { method: "GET", path: "/", authority: "orders" });
  res.body.resume();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
}

/** `n` calls, each on a new connection: the handshake uses the credentials in force now. */
async function freshCalls(n: number, transport = clientTransport): Promise<number> {
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const c = new TransportClient({ transport, place: "client", keepalive: false });
    await call(c).catch(() => failed++);
    c.close();
  }
  return failed;
}

beforeAll(async () => {
  rootA = await testCertificateAuthority();
  rootB = await testCertificateAuthority();
  serverTransport = new MtlsH2Transport(await creds(ORDERS, rootA, [rootA]));
  clientTransport = new MtlsH2Transport(await creds(FRONTEND, rootA, [rootA]));
  server = await serverTransport.listen(
    { host: "127.0.0.1", port: 0 },
    {
      request(stream) {
        stream.respond({ ":status": 200 });
        stream.end("ok");
      },
    },
  );
  persistent = new TransportClient({ transport: clientTransport, place: "client", keepalive: false });
});

afterAll(async () => {
  persistent?.close();
  await server?.close({ graceMs: 0 });
});

describe("root rotation with an overlapping trust bundle", () => {
  it("old and new roots trusted during the overlap: calls succeed at every step of the switch", async () => {
    let stop = false;
    const load = { ok: 0, failed: 0 };
    const loops = [0, 1, 2].map(async () => {
      while (!stop) {
        await call(persistent).then(
          () => load.ok++,
          () => load.failed++,
        );
      }
    });
    const steps: [string, () => Promise<void>][] = [
      ["both on A, trusting A", async () => {}],
      [
        "both on A, trusting A and B",
        async () => {
          serverTransport.setCredentials(await creds(ORDERS, rootA, [rootA, rootB]));
          clientTransport.setCredentials(await creds(FRONTEND, rootA, [rootA, rootB]));
        },
      ],
      ["server on B", async () => serverTransport.setCredentials(await creds(ORDERS, rootB, [rootA, rootB]))],
      [
        "client on B",
        async () => clientTransport.setCredentials(await creds(FRONTEND, rootB, [rootA, rootB])),
      ],
      [
        "both on B, A dropped",
        async () => {
          serverTransport.setCredentials(await creds(ORDERS, rootB, [rootB]));
          clientTransport.setCredentials(await creds(FRONTEND, rootB, [rootB]));
        },
      ],
    ];
    const failedPerStep: Record<string, number> = {};
    for (const [name, apply] of steps) {
      await apply();
      failedPerStep[name] = await freshCalls(10);
    }
    stop = true;
    await Promise.all(loops);
    expect(failedPerStep).toEqual(Object.fromEntries(steps.map(([n]) => [n, 0])));
    expect(load.failed).toBe(0);
    expect(load.ok).toBeGreaterThan(50);
  });

  it("without the overlap the switch breaks new connections (the control that makes the above mean something)", async () => {
    // The server is on B only now; a client still trusting A alone cannot verify it, and a
    // client on A is refused by the server.
    const stale = new MtlsH2Transport(await creds(FRONTEND, rootA, [rootA]));
    expect(await freshCalls(2, stale)).toBe(2);
    const trustsBoth = new MtlsH2Transport(await creds(FRONTEND, rootA, [rootA, rootB]));
    expect(await freshCalls(2, trustsBoth)).toBe(2);
    const current = new MtlsH2Transport(await creds(FRONTEND, rootB, [rootB]));
    expect(await freshCalls(2, current)).toBe(0);
  });
});
