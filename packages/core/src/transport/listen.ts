import type { Server } from "node:net";
import type { ServerCore } from "./server-core.ts";
import type { ListenOptions, MeshServer } from "./transport.ts";

export const MESH_INBOUND_PORT = 15008;

/** Binds `server` and returns the MeshServer that closes it and its sessions. */
export async function listenOn(
  server: Server,
  core: ServerCore,
  options: ListenOptions,
): Promise<MeshServer> {
  const host = options.host ?? "127.0.0.1";
  // HEADERS and DATA frames written apart would otherwise wait on the client's delayed ACK
  // (Nagle): about 40 ms a response at low concurrency.
  server.on("connection", (socket: { setNoDelay?: (on: boolean) => unknown }) => socket.setNoDelay?.(true));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? MESH_INBOUND_PORT, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : (options.port ?? MESH_INBOUND_PORT);
  return {
    address: host,
    port,
    get sessionCount() {
      return core.sessionCount;
    },
    async close({ graceMs = 0 } = {}) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await core.closeSessions(graceMs);
      await stopped;
    },
  };
}
