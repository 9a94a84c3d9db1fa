import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { H2cTransport, type MeshServer, TransportClient } from "../../src/transport/index.ts";
import { endpointOf, text } from "./harness.ts";

// A server whose connection dies after the head and part of the body: the answer is
// incomplete, and must not pass for one (retries judge by the trailers' outcome).
describe("a response cut off mid-body", () => {
  let server: MeshServer;
  let client: TransportClient;
  beforeAll(async () => {
    server = await new H2cTransport().listen(
      { host: "127.0.0.1", port: 0 },
      {
        request(stream, headers) {
          stream.respond({ ":status": 200, "content-type": "text/plain" });
          if (headers[":path"] === "/whole") {
            stream.end("all of it");
            return;
          }
          stream.write("part of", () => stream.session?.socket.destroy());
        },
      },
    );
    client = new TransportClient({ transport: new H2cTransport(), place: "client" });
  });
  afterAll(async () => {
    client.close();
    await server.close({ graceMs: 0 });
  });

  it("fails the trailers with a retryable lost-stream error, not a clean end", async () => {
    const res = await client.request(endpointOf(server), { method: "GET", path: "/cut", authority: "cut" });
    expect(res.status).toBe(200);
    await text(res).catch(() => "");
    const failure = await res.trailers.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(MeshError);
    expect((failure as MeshError).code).toBe(Code.Unavailable);
    expect((failure as MeshError).reason).toMatch(/after the request was sent/);
  });

  it("still settles a complete answer cleanly", async () => {
    const res = await client.request(endpointOf(server), {
      method: "GET",
      path: "/whole",
      authority: "whole",
    });
    expect(await text(res)).toBe("all of it");
    await expect(res.trailers).resolves.toBeDefined();
  });
});
