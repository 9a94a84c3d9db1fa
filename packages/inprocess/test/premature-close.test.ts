import { PassThrough } from "node:stream";
import { Code } from "@connectrpc/connect";
import { MeshError, newCall } from "@weft/core";
import type { TransportClient, TransportResponse } from "@weft/core/transport";
import { describe, expect, it } from "vitest";
import { meshSend } from "../src/client/send.ts";

// A response body whose stream closes before it ends, with nothing else to say why (no reset
// code, no transport error, no abort): what a caller's retry step must see as a lost answer.
describe("a response body that stops before its end", () => {
  it("fails the attempt as UNAVAILABLE (retryable for idempotent calls), not INTERNAL", async () => {
    const body = new PassThrough();
    const response: TransportResponse = {
      status: 200,
      headers: new Headers({ "content-type": "application/grpc" }),
      body,
      trailers: Promise.resolve(new Headers()),
    };
    // Only request() is reached; the transport's own wire is what the other tests exercise.
    const client = { request: async () => response } as unknown as TransportClient;
    const call = newCall({
      kind: "unary",
      place: "client",
      service: "catalog",
      method: "shop.v1.Catalog/Get",
    });
    call.endpoint = { key: "10.0.0.7:15008", address: "10.0.0.7", port: 15008, identity: "", zone: "" };
    const sent = meshSend(client, "client")(call);
    body.write(new Uint8Array([0, 0, 0, 0, 5]));
    body.destroy();
    const err = await sent.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.Unavailable);
    expect((err as MeshError).reason).toBe("the response from 10.0.0.7:15008 stopped before its end");
  });
});
