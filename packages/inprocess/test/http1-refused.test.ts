import { connect } from "node:net";
import { reportHardening } from "@weft/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMesh, type Mesh } from "../src/index.ts";
import { EchoService } from "./gen/echo/v1/echo_pb.js";
import { echoImpl, Received } from "./support/echo.ts";

// The in-process mesh port speaks HTTP/2 only: none of the HTTP/1.1 framing tricks the
// sidecar's table refuses one by one can even begin here. Each must be cut before any handler.
const attacks: [string, string][] = [
  [
    "Content-Length with Transfer-Encoding",
    "POST /echo.v1.EchoService/Say HTTP/1.1\r\nHost: echo\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  ],
  ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n"],
  ["plain GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"],
];

describe("HTTP/1.1 at the in-process mesh port", () => {
  let mesh: Mesh;
  const received = new Received();
  beforeAll(async () => {
    mesh = await createMesh({
      service: "echo",
      namespace: "test",
      insecure: true,
      listen: { host: "127.0.0.1", port: 0 },
    });
    mesh.serve(EchoService, echoImpl("a", received));
  });
  afterAll(() => mesh.close({ graceMs: 0 }));

  for (const [name, bytes] of attacks) {
    it(`closes the connection on ${name} before any handler runs`, async () => {
      const reply = await new Promise<{ closed: boolean; text: string }>((resolve) => {
        const s = connect(mesh.port as number, "127.0.0.1", () => s.write(bytes));
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => {
          s.destroy();
          resolve({ closed: false, text: "" });
        }, 3_000);
        s.on("data", (c: Buffer) => chunks.push(c));
        s.on("error", () => {});
        s.on("close", () => {
          clearTimeout(timer);
          resolve({ closed: true, text: Buffer.concat(chunks).toString("latin1") });
        });
      });
      expect(reply.closed).toBe(true);
      expect(reply.text).not.toContain("HTTP/1.1 200");
      expect(received.total).toBe(0);
      reportHardening({
        class: "http1-framing",
        case: `${name} at the in-process (HTTP/2-only) port`,
        refused: reply.closed,
        reachedApp: received.total > 0,
      });
    });
  }
});
