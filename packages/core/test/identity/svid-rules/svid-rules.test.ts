import {
  type ClientHttp2Session,
  createSecureServer,
  type Http2SecureServer,
  connect as h2connect,
  type ServerHttp2Session,
} from "node:http2";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshError } from "../../../src/errors/mesh-error.ts";
import { verifyPeerChain } from "../../../src/identity/index.ts";
import { identityOf, identityOfDer, PeerCertificateError } from "../../../src/identity/svid.ts";
import { reportHardening } from "../../../src/testing/hardening-report.ts";
import {
  type MeshCredentials,
  type MeshServer,
  MtlsH2Transport,
  type ServerHandlers,
  TransportClient,
} from "../../../src/transport/index.ts";
import { FRONTEND, ORDERS, PAYMENTS, SVID_CASES, TRUST_DOMAIN } from "./cases.ts";
import { type ForgedCa, type ForgedLeaf, forgeRoot, forgeSvid } from "./forge.ts";

let mesh: ForgedCa;
let foreign: ForgedCa;
let clientCreds: MeshCredentials;
let serverCreds: MeshCredentials;
let meshServer: MeshServer;
let reached = 0;
const leaves = new Map<string, ForgedLeaf>();
const clients: TransportClient[] = [];

function credentials(leaf: ForgedLeaf): MeshCredentials {
  return { key: leaf.keyPem, chain: leaf.certPem, trustAnchors: [mesh.pem] };
}

function countingHandler(): ServerHandlers {
  return {
    request(stream, _headers, peer) {
      reached++;
      stream.respond({ ":status": 200 });
      stream.end(peer.identity?.spiffeId ?? "anonymous");
    },
  };
}

function meshClient(creds: MeshCredentials): TransportClient {
  const c = new TransportClient({ transport: new MtlsH2Transport(creds), place: "client", keepalive: false });
  clients.push(c);
  return c;
}

async function callThrough(c: TransportClient, port: number, expected: string): Promise<unknown> {
  const endpoint = { key: `127.0.0.1:${port}`, address: "127.0.0.1", port, identity: expected };
  const res = await c.request(endpoint, { method: "GET", path: "/whoami", authority: "orders" });
  res.body.resume();
  return res.status;
}

/** A server outside the mesh code presenting `leaf`, counting requests that reach it. */
async function rogueServer(
  leaf: ForgedLeaf,
): Promise<{ port: number; reached: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sessions = new Set<ServerHttp2Session>();
  const server: Http2SecureServer = createSecureServer({
    key: leaf.keyPem,
    cert: leaf.certPem,
    minVersion: "TLSv1.3",
  });
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  server.on("stream", (stream) => {
    count++;
    stream.respond({ ":status": 200 });
    stream.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    reached: () => count,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A client outside the mesh code presenting `leaf` to the mesh server: the status it got, or the error. */
async function rogueRequest(leaf: ForgedLeaf): Promise<number | Error> {
  let session: ClientHttp2Session | undefined;
  try {
    return await new Promise<number | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error("no answer in 3 s")), 3_000);
      const done = (v: number | Error) => {
        clearTimeout(timer);
        resolve(v);
      };
      session = h2connect(`https://127.0.0.1:${meshServer.port}`, {
        key: leaf.keyPem,
        cert: leaf.certPem,
        ca: mesh.pem,
        minVersion: "TLSv1.3",
        checkServerIdentity: () => undefined,
      });
      session.on("error", (e) => done(e));
      session.on("close", () => done(new Error("session closed before a response")));
      const req = session.request({ ":path": "/whoami" });
      req.on("response", (h) => done(Number(h[":status"])));
      req.on("error", (e) => done(e));
      req.end();
    });
  } finally {
    session?.destroy();
  }
}

beforeAll(async () => {
  mesh = await forgeRoot(TRUST_DOMAIN);
  foreign = await forgeRoot("elsewhere.test");
  serverCreds = credentials(await forgeSvid(mesh, ORDERS));
  clientCreds = credentials(await forgeSvid(mesh, FRONTEND));
  for (const c of SVID_CASES) leaves.set(c.name, await c.make({ mesh, foreign }));
  meshServer = await new MtlsH2Transport(serverCreds).listen(
    { host: "127.0.0.1", port: 0 },
    countingHandler(),
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await meshServer.close({ graceMs: 0 });
});

function leafOf(name: string): ForgedLeaf {
  const leaf = leaves.get(name);
  if (!leaf) throw new Error(`no leaf made for case ${name}`);
  return leaf;
}

describe("X.509-SVID rules: core's verifier", () => {
  it("accepts a well-formed SVID (the control every refusal is measured against)", async () => {
    const leaf = await forgeSvid(mesh, ORDERS);
    const v = await verifyPeerChain({
      chain: [leaf.certPem],
      trustAnchors: [mesh.pem],
      trustDomain: TRUST_DOMAIN,
      now: Date.now(),
    });
    expect(v.ok).toBe(true);
  });

  it.each(SVID_CASES.map((c) => [c.name, c] as const))("refuses %s, naming the reason", async (_name, c) => {
    const v = await verifyPeerChain({
      chain: [leafOf(c.name).certPem],
      trustAnchors: [mesh.pem],
      trustDomain: TRUST_DOMAIN,
      now: Date.now(),
    });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.reason).toBe(c.reason);
    expect(v.message).toMatch(c.message);
  });
});

describe("X.509-SVID rules: the per-handshake DER reader agrees with the full parse", () => {
  const verdict = (f: () => unknown) => {
    try {
      return { ok: true, value: f() };
    } catch (err) {
      return { ok: false, reason: (err as PeerCertificateError).reason };
    }
  };
  it.each(["well-formed", ...SVID_CASES.map((c) => c.name)])("%s", async (name) => {
    const leaf = name === "well-formed" ? await forgeSvid(mesh, ORDERS) : leafOf(name);
    const der = new Uint8Array(leaf.certificate.rawData);
    expect(verdict(() => identityOfDer(der))).toEqual(verdict(() => identityOf(leaf.certificate)));
  });

  it("any bytes, or a certificate with bytes flipped, give a verdict and never another error (property)", async () => {
    const good = new Uint8Array((await forgeSvid(mesh, ORDERS)).certificate.rawData);
    const judge = (der: Uint8Array) => {
      try {
        identityOfDer(der);
      } catch (err) {
        expect(err).toBeInstanceOf(PeerCertificateError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), judge), { numRuns: 500 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (flips) => {
          const der = good.slice();
          for (const [i, v] of flips) der[i] = v;
          judge(der);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a truncated certificate is malformed, not accepted", async () => {
    const der = new Uint8Array((await forgeSvid(mesh, ORDERS)).certificate.rawData);
    expect(verdict(() => identityOfDer(der.subarray(0, der.length - 90)))).toEqual({
      ok: false,
      reason: "malformed",
    });
  });
});

describe("X.509-SVID rules on the mesh wire", () => {
  it("a good client certificate reaches the handler (control)", async () => {
    const before = reached;
    expect(await rogueRequest(await forgeSvid(mesh, PAYMENTS))).toBe(200);
    expect(reached).toBe(before + 1);
  });

  it.each(SVID_CASES.map((c) => [c.name, c] as const))(
    "%s: the mesh client refuses such a server, the mesh server such a client",
    async (_name, c) => {
      const leaf = leafOf(c.name);
      // The server presents the leaf: core's client refuses before sending anything.
      const rogue = await rogueServer(leaf);
      let clientError: unknown;
      try {
        await callThrough(meshClient(clientCreds), rogue.port, ORDERS).then(
          () => undefined,
          (e: unknown) => {
            clientError = e;
          },
        );
      } finally {
        await rogue.close();
      }
      expect(clientError).toBeInstanceOf(MeshError);
      expect(String((clientError as Error).message)).toMatch(c.wire);
      expect(rogue.reached()).toBe(0);

      // The client presents the leaf: the mesh server ends the connection before the handler.
      const before = reached;
      const outcome = await rogueRequest(leaf);
      expect(outcome).toBeInstanceOf(Error);
      expect(reached).toBe(before);

      reportHardening({
        class: "spiffe-svid",
        case: c.name,
        refused: clientError instanceof MeshError && outcome instanceof Error,
        reachedApp: rogue.reached() > 0 || reached > before,
      });
    },
  );

  it("secure naming: a valid mesh server that is not the target's identity is refused, as never sent", async () => {
    const payments = await new MtlsH2Transport(credentials(await forgeSvid(mesh, PAYMENTS))).listen(
      { host: "127.0.0.1", port: 0 },
      countingHandler(),
    );
    try {
      const c = meshClient(clientCreds);
      const before = reached;
      const err = await callThrough(c, payments.port, ORDERS).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MeshError);
      expect((err as MeshError).message).toMatch(`presented ${PAYMENTS} but ${ORDERS} was expected`);
      expect((err as MeshError).neverSent).toBe(true);
      expect(reached).toBe(before);
      // The same server, asked for by its own name, is reached (a fresh client: the first one
      // is backing off from that address after the refused handshake).
      expect(await callThrough(meshClient(clientCreds), payments.port, PAYMENTS)).toBe(200);
      expect(reached).toBe(before + 1);
      reportHardening({
        class: "spiffe-svid",
        case: "secure naming: server is not the target's identity",
        refused: true,
        reachedApp: false,
      });
    } finally {
      await payments.close({ graceMs: 0 });
    }
  });
});
