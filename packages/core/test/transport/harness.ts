import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type {
  MeshServer,
  PeerInfo,
  PoolEndpoint,
  ServerHandlers,
  TransportResponse,
} from "../../src/transport/index.ts";

/** Responds 200 with JSON naming the caller's identity and the path. */
export function whoamiHandler(): ServerHandlers {
  return {
    request(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer: PeerInfo) {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(
        JSON.stringify({
          peer: peer.identity?.spiffeId ?? null,
          secure: peer.secure,
          path: headers[":path"],
        }),
      );
    },
  };
}

export function endpointOf(server: MeshServer, identity = ""): PoolEndpoint {
  return { key: `${server.address}:${server.port}`, address: server.address, port: server.port, identity };
}

export function text(res: TransportResponse): Promise<string> {
  // Events, not for-await: see the memory-transport note in the transport report.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.body.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.body.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.body.once("error", reject);
  });
}

/** Resolves when `predicate` holds, polling on real time (socket tests only), or fails after `ms`. */
export async function until(predicate: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
