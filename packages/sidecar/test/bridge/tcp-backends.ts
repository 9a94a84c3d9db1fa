import net, { type AddressInfo } from "node:net";

/** A TCP server on 127.0.0.1 that closes every connection it accepted when closed. */
export async function tcpServer(onConnection: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A line protocol: `PING` -> `PONG`, `BIG` -> 100 x's, `SLOW` -> nothing ever, `BYE` -> the
 * connection closes without an answer, anything else -> `ECHO <line>`. Answers end in \r\n.
 */
export function lineServer() {
  return tcpServer((s) => {
    let buffered = "";
    s.on("data", (c: Buffer) => {
      buffered += c.toString("latin1");
      for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
        const line = buffered.slice(0, i).replace(/\r$/, "");
        buffered = buffered.slice(i + 1);
        if (line === "PING") s.write("PONG\r\n");
        else if (line === "BIG") s.write(`${"x".repeat(100)}\r\n`);
        else if (line === "BYE") s.end();
        else if (line !== "SLOW") s.write(`ECHO ${line}\r\n`);
      }
    });
  });
}

/** Length-prefixed frames (4-byte big-endian length): each is answered reversed. */
export function reversingFrameServer() {
  return tcpServer((s) => {
    let buf = Buffer.alloc(0);
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        const payload = Buffer.from(buf.subarray(4, 4 + n)).reverse();
        buf = buf.subarray(4 + n);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(payload.length);
        s.write(Buffer.concat([head, payload]));
      }
    });
  });
}
