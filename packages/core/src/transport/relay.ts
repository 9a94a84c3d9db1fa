import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { isIPv6, connect as netConnect } from "node:net";
import { DatagramChannel } from "./datagram.ts";
import type { InboundTunnel } from "./transport.ts";

/** Splits `host:port` (IPv6 hosts in brackets). */
export function parseAuthority(authority: string): { host: string; port: number } {
  const i = authority.lastIndexOf(":");
  const port = Number(authority.slice(i + 1));
  let host = authority.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (i <= 0 || !host || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`tunnel authority "${authority}" is not host:port`);
  }
  return { host, port };
}

/**
 * Serves a tcp tunnel by connecting to its authority and copying bytes both ways; the
 * tunnel is accepted only once the target answered (502 otherwise).
 */
export function relayTcp(tunnel: InboundTunnel, connectTimeoutMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    let target: { host: string; port: number };
    try {
      target = parseAuthority(tunnel.authority);
    } catch (err) {
      tunnel.reject(400, (err as Error).message);
      resolve();
      return;
    }
    const socket = netConnect({ host: target.host, port: target.port, noDelay: true });
    socket.setTimeout(connectTimeoutMs, () =>
      socket.destroy(new Error(`connect timed out after ${connectTimeoutMs}ms`)),
    );
    socket.once("error", (err) => {
      tunnel.reject(502, `cannot reach ${tunnel.authority}: ${err.message}`);
      resolve();
    });
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.removeAllListeners("error");
      const stream = tunnel.accept();
      socket.pipe(stream);
      stream.pipe(socket);
      const done = () => {
        socket.destroy();
        stream.destroy();
        resolve();
      };
      socket.once("error", done);
      stream.once("error", done);
      socket.once("close", () => {
        if (!stream.writableEnded) stream.end();
        resolve();
      });
      stream.once("close", () => {
        // The client went away: an unfinished target connection has nobody to answer to.
        if (!socket.writableEnded) socket.end();
      });
    });
  });
}

/**
 * Serves a udp tunnel: each datagram from the stream is sent to the authority from one
 * socket bound for this tunnel, and each reply comes back framed on the stream.
 */
export function relayUdp(tunnel: InboundTunnel): UdpSocket | undefined {
  let target: { host: string; port: number };
  try {
    target = parseAuthority(tunnel.authority);
  } catch (err) {
    tunnel.reject(400, (err as Error).message);
    return undefined;
  }
  const socket = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
  const channel = new DatagramChannel(tunnel.accept());
  socket.connect(target.port, target.host);
  let connected = false;
  const queued: Uint8Array[] = [];
  socket.once("connect", () => {
    connected = true;
    for (const d of queued.splice(0)) socket.send(d);
  });
  socket.on("message", (msg) => channel.send(msg));
  socket.on("error", () => channel.stream.destroy());
  channel.on("message", (datagram) => {
    if (connected) socket.send(datagram);
    else queued.push(datagram);
  });
  channel.on("close", () => {
    try {
      socket.close();
    } catch {
      // Already closed after a socket error.
    }
  });
  return socket;
}
