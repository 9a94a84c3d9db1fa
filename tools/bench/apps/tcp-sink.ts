/**
 * The app of the TCP stream paths, in a child process: accepts connections and discards what
 * they send, counting bytes. Sends its port over IPC; answers each "mark" message with the
 * bytes received so far and when (its own clock), so the parent measures throughput where
 * the bytes arrive. Exits when the parent disconnects.
 */
import net, { type AddressInfo } from "node:net";

export interface SinkMark {
  readonly bytes: number;
  readonly atMs: number;
}

let bytes = 0;
const server = net.createServer((socket) => {
  socket.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  socket.on("error", () => socket.destroy());
});
server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on("message", (m) => {
  if (m === "mark") process.send?.({ bytes, atMs: performance.now() } satisfies SinkMark);
});
process.on("disconnect", () => process.exit(0));
