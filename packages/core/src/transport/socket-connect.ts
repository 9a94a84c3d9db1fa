import { type ClientSessionOptions, connect as h2connect } from "node:http2";
import { isIPv6, connect as netConnect, type Socket } from "node:net";
import { ConnectError } from "./connect-error.ts";
import type { ConnectTarget } from "./transport.ts";

export const clientSessionOptions: ClientSessionOptions = {
  maxSessionMemory: 32,
  // Used until the server's SETTINGS arrive (the pool waits for them anyway).
  peerMaxConcurrentStreams: 100,
  settings: { enablePush: false },
};

export function authorityOf(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A TCP connection to the target, settled once connected or failed (or aborted). */
export function connectTcp(target: ConnectTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: target.address, port: target.port, noDelay: true });
    const fail = (err: unknown) => {
      cleanup();
      socket.destroy();
      reject(new ConnectError("tcp", `TCP connect to ${target.key} failed: ${describe(err)}`, err));
    };
    const onAbort = () => fail(target.signal.reason);
    const cleanup = () => {
      socket.off("error", fail);
      target.signal.removeEventListener("abort", onAbort);
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      cleanup();
      resolve(socket);
    });
    if (target.signal.aborted) onAbort();
    else target.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** An HTTP/2 client session over an established connection (plain or TLS). */
export function sessionOver(socket: Socket, scheme: "http" | "https", target: ConnectTarget) {
  return h2connect(`${scheme}://${authorityOf(target.address, target.port)}`, {
    ...clientSessionOptions,
    createConnection: () => socket,
  });
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
