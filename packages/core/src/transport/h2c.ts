import { createServer } from "node:http2";
import { listenOn } from "./listen.ts";
import { plaintextPeer, ServerCore } from "./server-core.ts";
import { http2ServerOptions, resolveLimits } from "./server-limits.ts";
import { connectTcp, sessionOver } from "./socket-connect.ts";
import type {
  ConnectTarget,
  ListenOptions,
  MeshServer,
  OpenedSession,
  ServerHandlers,
  Transport,
} from "./transport.ts";

/** Plaintext HTTP/2 (prior knowledge): local hops, and the plaintext side of permissive mode. */
export class H2cTransport implements Transport {
  readonly name = "h2c";

  async connect(target: ConnectTarget): Promise<OpenedSession> {
    const socket = await connectTcp(target);
    return { session: sessionOver(socket, "http", target), peerId: undefined, socket };
  }

  async listen(options: ListenOptions, handlers: ServerHandlers): Promise<MeshServer> {
    const limits = resolveLimits(options.limits);
    const core = new ServerCore(handlers, limits);
    const server = createServer(http2ServerOptions(limits));
    core.attach(server, plaintextPeer);
    return listenOn(server, core, options);
  }
}
