import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MeshError } from "../../src/errors/mesh-error.ts";
import {
  builtinTransports,
  H2cTransport,
  MemoryNetwork,
  MemoryTransport,
  MtlsH2Transport,
  parseSpiffeId,
  TransportClient,
} from "../../src/transport/index.ts";
import { CLIENT_ID, createCa, issueLeaf, OTHER_ID, SERVER_ID } from "./certs.ts";
import { endpointOf, text, whoamiHandler } from "./harness.ts";

describe("memory transport", () => {
  it("serves HTTP/2 in process, with the declared identities on both ends", async () => {
    const network = new MemoryNetwork();
    const server = await new MemoryTransport({ network, identity: SERVER_ID }).listen(
      { port: 0 },
      whoamiHandler(),
    );
    const c = new TransportClient({
      transport: new MemoryTransport({ network, identity: CLIENT_ID }),
      place: "client",
      keepalive: false,
    });
    try {
      const res = await c.request(endpointOf(server, SERVER_ID), {
        method: "GET",
        path: "/m",
        authority: "orders",
      });
      expect(JSON.parse(await text(res))).toEqual({ peer: CLIENT_ID, secure: false, path: "/m" });
      const wrong = await c
        .request(endpointOf(server, OTHER_ID), { method: "GET", path: "/", authority: "orders" })
        .catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(MeshError);
      expect((wrong as MeshError).reason).toContain(`proved ${SERVER_ID} but ${OTHER_ID} was expected`);
    } finally {
      c.close();
      await server.close();
    }
    const refused = await new TransportClient({
      transport: new MemoryTransport({ network }),
      place: "client",
    })
      .request(endpointOf(server), { method: "GET", path: "/", authority: "orders" })
      .catch((e: unknown) => e as MeshError);
    expect(refused).toMatchObject({ code: Code.Unavailable, neverSent: true });
  });
});

describe("transport registry", () => {
  it("creates the built-in transports by name and takes a user's own", async () => {
    const registry = builtinTransports();
    expect(registry.names()).toEqual(["mtls-h2", "h2c", "memory"]);
    const ca = await createCa("ca");
    expect(registry.create("mtls-h2", await issueLeaf(ca, SERVER_ID))).toBeInstanceOf(MtlsH2Transport);
    expect(registry.create("h2c", undefined)).toBeInstanceOf(H2cTransport);
    const h2c = new H2cTransport();
    const mine = { name: "mine", connect: h2c.connect.bind(h2c), listen: h2c.listen.bind(h2c) };
    registry.register("mine", () => mine);
    expect(registry.create("mine", undefined).name).toBe("mine");
    expect(() => registry.register("h2c", () => new H2cTransport())).toThrow(/already registered/);
    expect(() => registry.create("quic", undefined)).toThrow(
      /no transport named "quic" \(registered: mtls-h2, h2c, memory, mine\)/,
    );
  });
});

describe("SPIFFE IDs", () => {
  it("splits workload IDs and keeps other paths with empty namespace and account", () => {
    expect(parseSpiffeId(CLIENT_ID)).toEqual({
      spiffeId: CLIENT_ID,
      trustDomain: "weft.local",
      namespace: "shop",
      serviceAccount: "frontend",
    });
    expect(parseSpiffeId("spiffe://weft.local/gateway")).toMatchObject({ namespace: "", serviceAccount: "" });
    expect(() => parseSpiffeId("https://weft.local")).toThrow(/is not a SPIFFE ID/);
  });
});
