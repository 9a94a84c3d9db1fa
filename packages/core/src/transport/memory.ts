import { createServer, connect as h2connect } from "node:http2";
import { duplexPair } from "node:stream";
import { ConnectError } from "./connect-error.ts";
import { ServerCore } from "./server-core.ts";
import { http2ServerOptions, resolveLimits } from "./server-limits.ts";
import { clientSessionOptions } from "./socket-connect.ts";
import { parseSpiffeId } from "./spiffe.ts";
import type {
  ConnectTarget,
  ListenOptions,
  MeshServer,
  OpenedSession,
  PeerInfo,
  ServerHandlers,
  Transport,
} from "./transport.ts";

interface MemoryListener {
  readonly server: ReturnType<typeof createServer>;
  readonly identity: string | undefined;
}

/** In-process "addresses" (`host:port` keys) that memory transports listen on and connect to. */
export class MemoryNetwork {
  readonly listeners = new Map<string, MemoryListener>();
  #nextPort = 40_000;

  allocatePort(): number {
    return this.#nextPort++;
  }
}

/** The network memory transports share unless given their own. */
export const defaultMemoryNetwork = new MemoryNetwork();

export interface MemoryTransportOptions {
  readonly network?: MemoryNetwork;
  /**
   * SPIFFE ID this side declares. In process, nothing can be proven, so the peer believes
   * it: only for tests and co-located services that share a trust boundary.
   */
  readonly identity?: string;
}

/**
 * The identity the connecting client declared. A server emits 'session' synchronously inside
 * emit('connection'), so the value set around that call is the one of the session being made.
 */
let connectingIdentity: string | undefined;

/**
 * HTTP/2 over an in-process duplex pair: no sockets, the same sessions, streams, settings and
 * GOAWAY behaviour as the network transports.
 */
export class MemoryTransport implements Transport {
  readonly name = "memory";
  readonly #network: MemoryNetwork;
  readonly #identity: string | undefined;

  constructor(options: MemoryTransportOptions = {}) {
    this.#network = options.network ?? defaultMemoryNetwork;
    this.#identity = options.identity;
  }

  async connect(target: ConnectTarget): Promise<OpenedSession> {
    if (target.signal.aborted) {
      throw new ConnectError("tcp", `connect to ${target.key} aborted`, target.signal.reason);
    }
    const listener = this.#network.listeners.get(target.key);
    if (!listener) {
      const refused = Object.assign(new Error(`nothing listens on memory address ${target.key}`), {
        code: "ECONNREFUSED",
      });
      throw new ConnectError("tcp", `connect to ${target.key} refused: ${refused.message}`, refused);
    }
    if (target.expectedIdentity !== undefined && listener.identity !== target.expectedIdentity) {
      throw new ConnectError(
        "tls",
        `the server at ${target.key} declares ${listener.identity ?? "no identity"} but ${target.expectedIdentity} was expected`,
      );
    }
    const [clientSide, serverSide] = duplexPair();
    connectingIdentity = this.#identity;
    try {
      listener.server.emit("connection", serverSide);
    } finally {
      connectingIdentity = undefined;
    }
    const session = h2connect(`http://${target.key}`, {
      ...clientSessionOptions,
      createConnection: () => clientSide,
    });
    return { session, peerId: listener.identity, socket: clientSide };
  }

  async listen(options: ListenOptions, handlers: ServerHandlers): Promise<MeshServer> {
    const limits = resolveLimits(options.limits);
    const core = new ServerCore(handlers, limits);
    const server = createServer(http2ServerOptions(limits));
    core.attach(server, memoryPeer);
    const address = options.host ?? "127.0.0.1";
    const port = options.port || this.#network.allocatePort();
    const key = `${address}:${port}`;
    if (this.#network.listeners.has(key)) throw new Error(`memory address ${key} is already in use`);
    this.#network.listeners.set(key, { server, identity: this.#identity });
    const network = this.#network;
    return {
      address,
      port,
      get sessionCount() {
        return core.sessionCount;
      },
      async close({ graceMs = 0 } = {}) {
        network.listeners.delete(key);
        await core.closeSessions(graceMs);
      },
    };
  }
}

function memoryPeer(): PeerInfo {
  const id = connectingIdentity;
  return { identity: id ? parseSpiffeId(id) : undefined, secure: false, remoteAddress: undefined };
}
