import { subscribe } from "node:diagnostics_channel";
import type { Socket } from "node:net";

let subscribed = false;

/**
 * Turns Nagle's algorithm off on every connection a server of this process accepts. The core's
 * mesh server (HTTP/2, h2c and mTLS) leaves it on, and then a response whose HEADERS and DATA
 * frames are written apart waits for the client's delayed ACK: ~40 ms a request at low
 * concurrency. A proxy process wants every accepted socket this way, so it is done once, for
 * all of them, through Node's `net.server.socket` diagnostics channel.
 */
export function noDelayOnAcceptedSockets(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe("net.server.socket", (message) => {
    (message as { socket: Socket }).socket.setNoDelay(true);
  });
}
