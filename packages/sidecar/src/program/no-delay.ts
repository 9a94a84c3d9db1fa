import { subscribe } from "node:diagnostics_channel";
import type { Socket } from "node:net";

let subscribed = false;

/**
 * Turns Nagle's algorithm off on every connection a server of this process accepts: the
 * sidecar's own listeners (outbound, per-service ports, admin, app-facing fronts) as well as
 * core's mesh server, which does it itself. Otherwise a response whose HEADERS and DATA frames
 * are written apart waits for the client's delayed ACK: ~40 ms a request at low concurrency.
 * Done once, for all of them, through Node's `net.server.socket` diagnostics channel.
 */
export function noDelayOnAcceptedSockets(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe("net.server.socket", (message) => {
    (message as { socket: Socket }).socket.setNoDelay(true);
  });
}
