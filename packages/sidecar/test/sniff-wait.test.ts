import net from "node:net";
import { parseMeshConfig } from "@weft/core";
import { describe, expect, it } from "vitest";
import { Stats } from "../src/admin/stats.ts";
import { HttpFront } from "../src/http/front.ts";
import { UpstreamPool } from "../src/http/upstream.ts";
import { Listener } from "../src/listeners/listener.ts";
import { OutboundResolver } from "../src/program/outbound-resolver.ts";
import { recordingApp } from "./helpers.ts";

const CONFIG = `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { ports: [{ port: 8080, protocol: HTTP1 }, { port: 9090, protocol: GRPC }] }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: db, namespace: shop }
spec: { ports: [{ port: 5432, protocol: TCP }] }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: legacy, namespace: shop }
spec: { ports: [{ port: 9090, protocol: TCP }] }
`;

describe("client-first ports", () => {
  it("are the ports every declaring service serves with a client-first protocol", () => {
    const r = new OutboundResolver(parseMeshConfig({ file: "mesh.yaml", text: CONFIG }), "shop");
    expect(r.clientFirstPort(8080)).toBe(true);
    // gRPC on 9090 for web, but raw TCP on 9090 for legacy: the port must still be sniffed.
    expect(r.clientFirstPort(9090)).toBe(false);
    expect(r.clientFirstPort(5432)).toBe(false);
    expect(r.clientFirstPort(1234)).toBe(false);
  });

  it("a listener waiting per connection serves a client that speaks after the short sniff window", async () => {
    const app = await recordingApp();
    const stats = new Stats();
    const front = new HttpFront({
      place: "sidecar-outbound",
      pool: new UpstreamPool(),
      resolve: () => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }),
      stats,
    });
    const listener = new Listener({
      name: "test",
      place: "sidecar-outbound",
      host: "127.0.0.1",
      port: 0,
      front,
      // As the sidecar does for a client-first port: longer than the client's silence below.
      sniffMs: () => 2_000,
      stats,
    });
    const port = await listener.listen();
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, "127.0.0.1", () => {
          // Silent for longer than the default 100 ms window, as a client on a busy machine.
          setTimeout(() => s.write("GET /late HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n"), 300);
        });
        const chunks: Buffer[] = [];
        s.on("data", (c: Buffer) => chunks.push(c));
        s.on("error", reject);
        s.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
      });
      expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
      expect(app.seen.map((r) => r.url)).toEqual(["/late"]);
    } finally {
      await listener.close();
      await front.drain(0);
      await app.close();
    }
  });
});
