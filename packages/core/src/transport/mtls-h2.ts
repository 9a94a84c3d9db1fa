import { createSecureServer, createServer, type ServerHttp2Session } from "node:http2";
import { createServer as createNetServer, isIP, type Socket } from "node:net";
import { type PeerCertificate, type SecureContext, type TLSSocket, connect as tlsConnect } from "node:tls";
import type { PeerIdentity } from "../call/call.ts";
import { ConnectError } from "./connect-error.ts";
import { type MeshCredentials, meshSecureContext, secureContextOptions } from "./credentials.ts";
import { listenOn } from "./listen.ts";
import { plaintextPeer, ServerCore } from "./server-core.ts";
import { http2ServerOptions, resolveLimits } from "./server-limits.ts";
import { connectTcp, describe, sessionOver } from "./socket-connect.ts";
import { svidIdentity, trustDomainOfChain } from "./spiffe.ts";
import type {
  ConnectTarget,
  ListenOptions,
  MeshServer,
  OpenedSession,
  PeerInfo,
  ServerHandlers,
  Transport,
} from "./transport.ts";

const TLS_HANDSHAKE_BYTE = 0x16;

/**
 * The mesh wire: HTTP/2 over mutual TLS 1.3 (ALPN h2) with workload certificates. Clients
 * verify the server's chain against the mesh trust anchors and its SPIFFE ID against the one
 * expected for the target; servers require a client certificate from the same anchors. Both
 * sides hold the peer's leaf to the X.509-SVID rules (svidIdentity) and to their own trust
 * domain, and a server closes a session whose client certificate breaks them before any
 * request is read.
 * `setCredentials` rotates key, chain and anchors: new connections use them, open ones go on.
 */
export class MtlsH2Transport implements Transport {
  readonly name = "mtls-h2";
  #credentials: MeshCredentials;
  #clientContext: SecureContext;
  #trustDomain: string;
  readonly #servers = new Set<{ setSecureContext(options: object): void }>();

  constructor(credentials: MeshCredentials) {
    this.#credentials = credentials;
    this.#clientContext = meshSecureContext(credentials);
    this.#trustDomain = trustDomainOfChain(credentials.chain);
  }

  get credentials(): MeshCredentials {
    return this.#credentials;
  }

  setCredentials(credentials: MeshCredentials): void {
    const context = meshSecureContext(credentials);
    const options = secureContextOptions(credentials);
    const trustDomain = trustDomainOfChain(credentials.chain);
    this.#credentials = credentials;
    this.#trustDomain = trustDomain;
    this.#clientContext = context;
    for (const server of this.#servers) server.setSecureContext(options);
  }

  async connect(target: ConnectTarget): Promise<OpenedSession> {
    const tcp = await connectTcp(target);
    const { socket, peerId } = await this.#handshake(tcp, target);
    return { session: sessionOver(socket, "https", target), peerId, socket };
  }

  #handshake(tcp: Socket, target: ConnectTarget): Promise<{ socket: TLSSocket; peerId: string }> {
    return new Promise((resolve, reject) => {
      let peerId: string | undefined;
      // Node's hostname check must not decide: mesh certificates name workloads, not hosts.
      const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
        if (!cert.raw) return new Error(`the server at ${target.key} presented no certificate`);
        let id: string;
        try {
          id = svidIdentity(cert.raw, this.#trustDomain).spiffeId;
        } catch (err) {
          return new Error(`the server certificate at ${target.key} is refused: ${(err as Error).message}`);
        }
        if (target.expectedIdentity !== undefined && id !== target.expectedIdentity) {
          return new Error(
            `the server at ${target.key} presented ${id} but ${target.expectedIdentity} was expected`,
          );
        }
        peerId = id;
        return undefined;
      };
      const socket = tlsConnect({
        socket: tcp,
        secureContext: this.#clientContext,
        ALPNProtocols: ["h2"],
        servername: isIP(target.address) ? undefined : target.address,
        rejectUnauthorized: true,
        checkServerIdentity,
      });
      const fail = (err: unknown) => {
        cleanup();
        socket.destroy();
        tcp.destroy();
        reject(new ConnectError("tls", `TLS handshake with ${target.key} failed: ${describe(err)}`, err));
      };
      const onAbort = () => fail(target.signal.reason);
      const cleanup = () => {
        socket.off("error", fail);
        target.signal.removeEventListener("abort", onAbort);
      };
      socket.once("error", fail);
      socket.once("secureConnect", () => {
        if (socket.alpnProtocol !== "h2") {
          fail(new Error(`server did not negotiate ALPN h2 (got ${socket.alpnProtocol || "none"})`));
          return;
        }
        if (peerId === undefined) {
          fail(new Error("the server identity was not checked"));
          return;
        }
        cleanup();
        resolve({ socket, peerId });
      });
      if (target.signal.aborted) onAbort();
      else target.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  async listen(options: ListenOptions, handlers: ServerHandlers): Promise<MeshServer> {
    const limits = resolveLimits(options.limits);
    const core = new ServerCore(handlers, limits);
    const secure = createSecureServer({
      ...http2ServerOptions(limits),
      ...secureContextOptions(this.#credentials),
      requestCert: true,
      rejectUnauthorized: true,
      allowHTTP1: false,
      handshakeTimeout: limits.handshakeTimeoutMs,
    });
    core.attach(secure, (session) => this.#tlsPeer(session));
    this.#servers.add(secure);
    if ((options.mode ?? "strict") === "strict") {
      const server = await listenOn(secure, core, options);
      return this.#tracked(secure, server);
    }
    // Permissive: one port, both protocols; the first byte tells a TLS handshake from h2c.
    const plain = createServer(http2ServerOptions(limits));
    core.attach(plain, plaintextPeer);
    const sniffing = new Set<Socket>();
    const front = createNetServer((socket) => {
      sniffing.add(socket);
      socket.on("error", () => socket.destroy());
      socket.setTimeout(limits.handshakeTimeoutMs, () => socket.destroy());
      socket.once("data", (chunk: Buffer) => {
        sniffing.delete(socket);
        socket.setTimeout(0);
        socket.pause();
        socket.unshift(chunk);
        (chunk[0] === TLS_HANDSHAKE_BYTE ? secure : plain).emit("connection", socket);
      });
      socket.once("close", () => sniffing.delete(socket));
    });
    core.attachFront(front);
    const server = await listenOn(front, core, options);
    return this.#tracked(secure, {
      address: server.address,
      port: server.port,
      get sessionCount() {
        return server.sessionCount;
      },
      close: async (closeOptions) => {
        for (const socket of sniffing) socket.destroy();
        await server.close(closeOptions);
      },
    });
  }

  /**
   * Who is on the other end of a new session. OpenSSL has verified the chain; a leaf that
   * breaks the SVID rules ends the session here, before its first stream is read (the
   * 'session' event runs in the same tick as the handshake's end).
   */
  #tlsPeer(session: ServerHttp2Session): PeerInfo {
    const socket = session.socket as TLSSocket;
    const raw = socket.getPeerCertificate?.().raw;
    let identity: PeerIdentity | undefined;
    try {
      if (!raw) throw new Error("the client presented no certificate");
      identity = svidIdentity(raw, this.#trustDomain);
    } catch {
      session.destroy();
    }
    return { identity, secure: true, remoteAddress: socket.remoteAddress };
  }

  #tracked(secure: { setSecureContext(options: object): void }, server: MeshServer): MeshServer {
    return {
      address: server.address,
      port: server.port,
      get sessionCount() {
        return server.sessionCount;
      },
      close: async (options) => {
        this.#servers.delete(secure);
        await server.close(options);
      },
    };
  }
}
