// The mesh listener resumes no TLS session: a resumed handshake re-checks neither the client's
// chain against the current bundle nor its SVID's validity, and needs no private key.
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { connect as h2connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../../src/identity/index.ts";
import {
  issueTestCredentials,
  type TestCredentials,
  testCertificateAuthority,
} from "../../../src/testing/index.ts";
import { type MeshServer, MtlsH2Transport, type ServerHandlers } from "../../../src/transport/index.ts";

const ORDERS = "spiffe://weft.local/ns/shop/sa/orders";
const FRONTEND = "spiffe://weft.local/ns/shop/sa/frontend";
const TICKET_WAIT_MS = 3_000;
const OPENSSL_LIMIT_MS = 10_000;

let dir: string;
let ca: CertificateAuthority;
let client: TestCredentials;
let transport: MtlsH2Transport;
let strict: MeshServer;
let permissive: MeshServer;
let files: { cert: string; key: string; root: string };

beforeAll(async () => {
  ca = await testCertificateAuthority();
  client = await issueTestCredentials(ca, FRONTEND);
  transport = new MtlsH2Transport(await issueTestCredentials(ca, ORDERS));
  const handlers: ServerHandlers = {
    request(stream, _headers, peer) {
      const socket = stream.session?.socket as unknown as TLSSocket;
      stream.respond({ ":status": 200 });
      stream.end(JSON.stringify({ peer: peer.identity?.spiffeId ?? null, reused: socket.isSessionReused() }));
    },
  };
  strict = await transport.listen({ host: "127.0.0.1", port: 0 }, handlers);
  permissive = await transport.listen({ host: "127.0.0.1", port: 0, mode: "permissive" }, handlers);
  dir = await mkdtemp(join(tmpdir(), "weft-resumption-"));
  files = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), root: join(dir, "root.pem") };
  await writeFile(files.cert, client.chain);
  await writeFile(files.key, client.key, { mode: 0o600 });
  await writeFile(files.root, ca.certificate.toString("pem"));
});

afterAll(async () => {
  await strict?.close({ graceMs: 0 });
  await permissive?.close({ graceMs: 0 });
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * One `openssl s_client` mTLS 1.3 handshake, loading (`-sess_in`) or saving (`-sess_out`) the
 * session. TLS 1.3 tickets come after the handshake, so stdin stays open until one arrived
 * (or TICKET_WAIT_MS passed, should none be sent). Resolves with s_client's output.
 */
function sClient(port: number, session: { in: string } | { out: string }): Promise<string> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-tls1_3", "-alpn", "h2"];
  args.push("-cert", files.cert, "-key", files.key, "-CAfile", files.root, "-verify_return_error");
  args.push(...("in" in session ? ["-sess_in", session.in] : ["-sess_out", session.out]));
  return new Promise((resolve, reject) => {
    // Unbuffered, so the ticket line is seen when it arrives, not when s_client exits.
    const child = spawn("stdbuf", ["-o0", "openssl", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    const hangUp = () => child.stdin.end();
    const ticketTimer = setTimeout(hangUp, TICKET_WAIT_MS);
    const killTimer = setTimeout(() => child.kill("SIGKILL"), OPENSSL_LIMIT_MS);
    const collect = (chunk: Buffer) => {
      output += chunk.toString("latin1");
      if (output.includes("New Session Ticket arrived")) hangUp();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("close", () => {
      clearTimeout(ticketTimer);
      clearTimeout(killTimer);
      resolve(output);
    });
  });
}

/** The handshake line of s_client's summary: "New, TLSv1.3, ..." or "Reused, TLSv1.3, ...". */
function handshakeKind(output: string): string {
  return /^(New|Reused), (TLSv[\d.]+)/m.exec(output)?.slice(1).join(" ") ?? `no handshake:\n${output}`;
}

/** A saved session, then a second connection offering it: how that second handshake went. */
async function secondHandshake(port: number, name: string): Promise<{ first: string; second: string }> {
  const sess = join(dir, `${name}.sess`);
  const first = await sClient(port, { out: sess });
  expect((await stat(sess)).size).toBeGreaterThan(0);
  const second = await sClient(port, { in: sess });
  expect(second).toMatch(/Verify return code: 0 \(ok\)/);
  expect(second).toMatch(/ALPN protocol: h2/);
  return { first: handshakeKind(first), second: handshakeKind(second) };
}

/** A request over a TLS connection made with `options`: what the server saw, or the error. */
function whoami(options: { session?: Buffer; withCertificate: boolean }): Promise<{
  body?: { peer: string | null; reused: boolean };
  error?: string;
  ticket?: Buffer;
}> {
  return new Promise((resolve) => {
    let ticket: Buffer | undefined;
    const socket = tlsConnect({
      host: "127.0.0.1",
      port: strict.port,
      ca: [...client.trustAnchors],
      ...(options.withCertificate ? { key: client.key, cert: client.chain } : {}),
      session: options.session,
      ALPNProtocols: ["h2"],
      minVersion: "TLSv1.3",
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => done({ error: "no answer in 5 s" }), 5_000);
    const done = (result: { body?: { peer: string | null; reused: boolean }; error?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...result, ticket });
    };
    socket.on("session", (s: Buffer) => {
      ticket ??= s;
    });
    socket.once("error", (err) => done({ error: err.message }));
    socket.once("secureConnect", () => {
      const session = h2connect(`https://127.0.0.1:${strict.port}`, { createConnection: () => socket });
      session.on("error", (err) => done({ error: err.message }));
      const req = session.request({ ":path": "/whoami" });
      let text = "";
      req.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      req.once("error", (err) => done({ error: err.message }));
      req.once("end", () => {
        session.close();
        done(text ? { body: JSON.parse(text) } : { error: "the stream ended with no response" });
      });
      req.end();
    });
  });
}

describe("the mesh listener does not resume TLS sessions", () => {
  it.each([
    ["strict", () => strict],
    ["permissive", () => permissive],
  ] as const)(
    "%s: openssl offering a saved session gets a full handshake, which succeeds",
    async (mode, server) => {
      const { first, second } = await secondHandshake(server().port, mode);
      expect(first).toBe("New TLSv1.3");
      expect(second).toBe("New TLSv1.3");
    },
  );

  it("after a credential rotation too (setSecureContext must keep the no-ticket option)", async () => {
    transport.setCredentials(await issueTestCredentials(ca, ORDERS));
    const { second } = await secondHandshake(strict.port, "rotated");
    expect(second).toBe("New TLSv1.3");
  });

  it("a saved session is no credential: without the client certificate it is refused; with it the server sees a fresh handshake", async () => {
    const first = await whoami({ withCertificate: true });
    expect(first.body).toEqual({ peer: FRONTEND, reused: false });
    expect(first.ticket).toBeDefined();
    const bare = await whoami({ session: first.ticket, withCertificate: false });
    expect(bare.body).toBeUndefined();
    expect(bare.error).toMatch(/certificate required/);
    const again = await whoami({ session: first.ticket, withCertificate: true });
    expect(again.body).toEqual({ peer: FRONTEND, reused: false });
  });
});
