import { connect as h2connect } from "node:http2";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshError } from "../../src/errors/mesh-error.ts";
import {
  H2cTransport,
  type MeshCredentials,
  type MeshServer,
  MtlsH2Transport,
  TransportClient,
} from "../../src/transport/index.ts";
import { CLIENT_ID, createCa, issueLeaf, OTHER_ID, SERVER_ID, type TestCa } from "./certs.ts";
import { endpointOf, text, whoamiHandler } from "./harness.ts";

let ca: TestCa;
let otherCa: TestCa;
let serverCreds: MeshCredentials;
let clientCreds: MeshCredentials;
let serverTransport: MtlsH2Transport;
let strict: MeshServer;
let permissive: MeshServer;
const clients: TransportClient[] = [];

function client(credentials: MeshCredentials): TransportClient {
  const c = new TransportClient({
    transport: new MtlsH2Transport(credentials),
    place: "client",
    keepalive: false,
  });
  clients.push(c);
  return c;
}

async function get(c: TransportClient, server: MeshServer, identity = SERVER_ID) {
  const res = await c.request(endpointOf(server, identity), {
    method: "GET",
    path: "/whoami",
    authority: "orders",
  });
  return {
    status: res.status,
    body: JSON.parse(await text(res)) as { peer: string | null; secure: boolean },
  };
}

async function failure(promise: Promise<unknown>): Promise<MeshError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MeshError);
  return err as MeshError;
}

beforeAll(async () => {
  ca = await createCa("weft mesh CA");
  otherCa = await createCa("some other CA");
  serverCreds = await issueLeaf(ca, SERVER_ID);
  clientCreds = await issueLeaf(ca, CLIENT_ID);
  serverTransport = new MtlsH2Transport(serverCreds);
  strict = await serverTransport.listen({ port: 0 }, whoamiHandler());
  permissive = await serverTransport.listen({ port: 0, mode: "permissive" }, whoamiHandler());
});

afterAll(async () => {
  for (const c of clients) c.close();
  await strict.close();
  await permissive.close();
});

describe("mtls-h2", () => {
  it("carries a request end to end and shows the server the client's SPIFFE ID", async () => {
    const res = await get(client(clientCreds), strict);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ peer: CLIENT_ID, secure: true, path: "/whoami" });
  });

  it("rejects a server presenting another SPIFFE ID than the target's, as never sent", async () => {
    const err = await failure(get(client(clientCreds), strict, OTHER_ID));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.neverSent).toBe(true);
    expect(err.reason).toContain(`presented ${SERVER_ID} but ${OTHER_ID} was expected`);
    expect(err.provenance).toEqual({ place: "client", plugin: "transport", policy: "" });
  });

  it("rejects a server whose chain is not from the mesh trust anchors", async () => {
    const distrustful = await issueLeaf(otherCa, CLIENT_ID, { anchors: [otherCa] });
    const err = await failure(get(client(distrustful), strict));
    expect(err.neverSent).toBe(true);
    expect(err.reason).toMatch(/TLS handshake/);
  });

  it("strict: refuses a client without a certificate", async () => {
    // A bare Node client, to show what the server does when no certificate is offered at all.
    const attempt = (cert?: MeshCredentials) =>
      new Promise<string>((resolve) => {
        const session = h2connect(`https://127.0.0.1:${strict.port}`, {
          ca: ca.pem,
          ...(cert ? { key: cert.key, cert: cert.chain } : {}),
          checkServerIdentity: () => undefined,
          minVersion: "TLSv1.3",
        });
        const done = (outcome: string) => {
          session.destroy();
          resolve(outcome);
        };
        session.on("error", (e: NodeJS.ErrnoException) => done(`error ${e.code}`));
        session.on("close", () => done("closed"));
        const req = session.request({ ":path": "/whoami" });
        req.on("response", (h) => done(`status ${h[":status"]}`));
        req.on("error", (e: NodeJS.ErrnoException) => done(`error ${e.code}`));
        req.end();
      });
    expect(await attempt()).toBe("error ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
    expect(await attempt(clientCreds)).toBe("status 200");
  });

  it("strict: refuses a client certificate from another CA, and an expired one", async () => {
    const foreign = await issueLeaf(otherCa, CLIENT_ID, { anchors: [ca] });
    const foreignErr = await failure(get(client(foreign), strict));
    expect(foreignErr.neverSent).toBe(true);

    const expired = await issueLeaf(ca, CLIENT_ID, { notBeforeDays: -3, notAfterDays: -1 });
    const expiredErr = await failure(get(client(expired), strict));
    expect(expiredErr.neverSent).toBe(true);
    // The same client with a valid certificate still gets in: the refusals were the certificates.
    expect((await get(client(clientCreds), strict)).status).toBe(200);
  });

  it("permissive: serves mTLS and plaintext h2c on one port, identity only from mTLS", async () => {
    const tls = await get(client(clientCreds), permissive);
    expect(tls.body).toMatchObject({ peer: CLIENT_ID, secure: true });
    const plain = new TransportClient({
      transport: new H2cTransport(),
      place: "sidecar-outbound",
      keepalive: false,
    });
    clients.push(plain);
    const res = await get(plain, permissive, "");
    expect(res.body).toMatchObject({ peer: null, secure: false });
  });

  it("strict: plaintext h2c is refused", async () => {
    const plain = new TransportClient({ transport: new H2cTransport(), place: "client", keepalive: false });
    clients.push(plain);
    const err = await failure(get(plain, strict, ""));
    expect(err.neverSent).toBe(true);
  });
});

describe("credential rotation", () => {
  it("rotates certificates and anchors under load: no failed request, open sessions untouched", async () => {
    const nextCa = await createCa("weft mesh CA (next)");
    const rotatingServer = new MtlsH2Transport(serverCreds);
    const server = await rotatingServer.listen({ port: 0 }, whoamiHandler());
    const clientTransport = new MtlsH2Transport(clientCreds);
    const c = new TransportClient({ transport: clientTransport, place: "client", keepalive: false });
    clients.push(c);
    const endpoint = endpointOf(server, SERVER_ID);
    const total = 500;
    const concurrency = 20;
    let started = 0;
    let ok = 0;
    const failures: unknown[] = [];
    const peersSeen = new Set<string>();
    let rotatedAt = -1;
    const worker = async () => {
      while (started < total) {
        const n = started++;
        if (n === 150) {
          // Both sides move to leaves from the next CA, trusting old and new while it rolls out.
          const anchors = [ca, nextCa];
          rotatingServer.setCredentials(await issueLeaf(nextCa, SERVER_ID, { anchors }));
          clientTransport.setCredentials(await issueLeaf(nextCa, CLIENT_ID, { anchors }));
          rotatedAt = n;
        }
        try {
          const res = await c.request(endpoint, { method: "GET", path: "/whoami", authority: "orders" });
          const body = JSON.parse(await text(res)) as { peer: string };
          peersSeen.add(body.peer);
          if (res.status === 200) ok++;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const sessionsBefore = c.stats(endpoint.key);
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(failures).toEqual([]);
    expect(ok).toBe(total);
    expect(rotatedAt).toBe(150);
    expect(peersSeen).toEqual(new Set([CLIENT_ID]));
    expect(sessionsBefore).toBeUndefined();
    // The sessions opened before the rotation carried the load throughout: none was replaced.
    expect(c.stats(endpoint.key)?.sessions).toBe(1);
    expect(server.sessionCount).toBe(1);

    // A new connection gets the new credentials: a client trusting only the next CA gets in.
    const fresh = await get(client(await issueLeaf(nextCa, CLIENT_ID, { anchors: [nextCa] })), server);
    expect(fresh.status).toBe(200);
    expect(server.sessionCount).toBe(2);
    await server.close();
  });
});
