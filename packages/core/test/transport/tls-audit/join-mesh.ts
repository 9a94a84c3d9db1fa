// A workload joining the mesh the way both data-plane shapes do (inprocess createMesh, the
// sidecar's control-plane link): certificate from the CA first, then the mTLS transport made
// from it, then the mesh port. Each renewal goes to the transport for new connections.
import type { ServerHttp2Stream } from "node:http2";
import { connect as netConnect } from "node:net";
import {
  CertificateRotator,
  type IssuedCredentials,
  type MeshServer,
  MtlsH2Transport,
  type RotatorOptions,
} from "../../../src/transport/index.ts";

export interface Workload {
  readonly rotator: CertificateRotator;
  readonly transport: MtlsH2Transport;
  /** Every credential set installed, first included, with the wall time it arrived. */
  readonly installed: readonly { at: number; credentials: IssuedCredentials }[];
  server?: MeshServer;
  served: number;
}

export async function joinMesh(
  options: Omit<RotatorOptions, "onCredentials"> & { listenPort?: number },
): Promise<Workload> {
  let transport: MtlsH2Transport | undefined;
  const installed: { at: number; credentials: IssuedCredentials }[] = [];
  const rotator = await CertificateRotator.start({
    ...options,
    onCredentials: (c) => {
      installed.push({ at: Date.now(), credentials: c });
      if (transport) transport.setCredentials(c);
      else transport = new MtlsH2Transport(c);
    },
  });
  if (!transport) throw new Error("the rotator started without credentials");
  const w: Workload = { rotator, transport, installed, served: 0 };
  if (options.listenPort !== undefined) {
    w.server = await transport.listen(
      { host: "127.0.0.1", port: options.listenPort },
      {
        request(stream: ServerHttp2Stream) {
          w.served++;
          stream.respond({ ":status": 200 });
          stream.end("ok");
        },
      },
    );
  }
  return w;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Whether a TCP connection to the port is accepted. */
export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
