import { createSocket, type Socket } from "node:dgram";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEchoApp } from "./echo-app.ts";
import { ECHO_RPC, EchoService } from "./echo-service.ts";
import { type SidecarProcess, startSidecar, tempDir } from "./process-helpers.ts";

/** A free UDP port on 127.0.0.1 (bound and released: the service port of the UDP test). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function meshConfig(inboundPort: number, udpPort: number): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ name: rpc, port: 8080, protocol: PROTOCOL_GRPC }, { name: dns, port: ${udpPort}, protocol: PROTOCOL_UDP }]
  rpcServices: [${ECHO_RPC}]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${inboundPort} }]
`;
}

// client --(h2c or UDP)--> caller sidecar --(mesh hop)--> callee sidecar --(h2c or UDP)--> app
describe("a connect-node client and a UDP echo through two sidecar processes", () => {
  const tmp = tempDir();
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let udpEcho: Socket;
  let callee: SidecarProcess;
  let caller: SidecarProcess;
  let udpPort = 0;

  beforeAll(async () => {
    app = await startEchoApp();
    const appPort = app.port;
    // The UDP echo answers on the app's port number, as the callee sidecar relays udp tunnels there.
    udpEcho = createSocket("udp4");
    udpEcho.on("message", (msg, from) =>
      udpEcho.send(Buffer.concat([Buffer.from("echo:"), msg]), from.port, from.address),
    );
    await new Promise<void>((r) => udpEcho.bind(appPort, "127.0.0.1", r));
    udpPort = await freeUdpPort();
    tmp.write("callee.yaml", meshConfig(1, udpPort));
    callee = await startSidecar([
      "--config",
      `${tmp.dir}/callee.yaml`,
      "--service",
      "orders",
      "--namespace",
      "shop",
      "--app-port",
      String(appPort),
      "--app-protocol",
      "h2c",
    ]);
    tmp.write("caller.yaml", meshConfig(callee.ports.inbound as number, udpPort));
    caller = await startSidecar([
      "--config",
      `${tmp.dir}/caller.yaml`,
      "--service",
      "web",
      "--namespace",
      "shop",
      "--app-port",
      "9",
      "--udp-idle",
      "2s",
    ]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([caller?.stop(), callee?.stop()]);
    await app.close();
    udpEcho.close();
    tmp.remove();
  });

  const baseUrl = () => `http://127.0.0.1:${caller.ports.outbound}`;

  for (const [name, transport] of [
    ["Connect", () => createConnectTransport({ baseUrl: baseUrl(), httpVersion: "2" })],
    ["gRPC", () => createGrpcTransport({ baseUrl: baseUrl() })],
  ] as const) {
    it(`${name} over h2c: unary with trailers, an error code with its trailers, server and bidi streams`, async () => {
      const client = createClient(EchoService, transport());
      let trailer: Headers | undefined;
      const res = await client.say({ text: "hi" }, { onTrailer: (t) => (trailer = t) });
      expect(res.text).toBe("echo:hi");
      expect(trailer?.get("x-trailer")).toBe("from-app");

      const err = await client.say({ text: "fail" }).catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
      expect((err as ConnectError).rawMessage).toBe("app says no");
      expect((err as ConnectError).metadata.get("x-why")).toBe("asked to");

      const counted: number[] = [];
      for await (const m of client.count({ upTo: 5 })) counted.push(m.n);
      expect(counted).toEqual([1, 2, 3, 4, 5]);

      if (name === "gRPC") {
        async function* words() {
          for (const text of ["a", "b", "c"]) yield { text };
        }
        const chat: string[] = [];
        for await (const m of client.chat(words())) chat.push(m.text);
        expect(chat).toEqual(["A", "B", "C"]);
        expect((await client.collect(words())).text).toBe("a b c");
      }
    });
  }

  it("UDP: datagrams to the service port on the caller come back echoed, byte exact, per flow", async () => {
    const port = caller.ports[`udp:orders.shop:${udpPort}`];
    expect(port).toBe(udpPort);
    const clients = [createSocket("udp4"), createSocket("udp4")];
    try {
      for (const c of clients) await new Promise<void>((r) => c.bind(0, "127.0.0.1", r));
      const payloads = [Buffer.from("one"), Buffer.alloc(1200, 7), Buffer.from([0, 255, 0, 1])];
      for (const [i, c] of clients.entries()) {
        // Distinct datagrams: a resend may bring a late echo of the round before it as well.
        const got = new Set<string>();
        c.on("message", (m) => got.add(m.toString("hex")));
        // UDP may drop; resend a bounded number of times until every payload came back.
        for (let round = 0; round < 20 && got.size < payloads.length; round++) {
          for (const p of payloads) c.send(Buffer.concat([Buffer.from([i]), p]), udpPort, "127.0.0.1");
          await new Promise((r) => setTimeout(r, 100));
        }
        expect([...got].sort()).toEqual(
          payloads
            .map((p) => Buffer.concat([Buffer.from("echo:"), Buffer.from([i]), p]).toString("hex"))
            .sort(),
        );
      }
      const stats = (await (await fetch(`http://127.0.0.1:${caller.ports.admin}/stats`)).json()) as Record<
        string,
        number
      >;
      expect(stats.weft_sidecar_udp_flows_total).toBeGreaterThanOrEqual(2);
      const calleeStats = (await (
        await fetch(`http://127.0.0.1:${callee.ports.admin}/stats`)
      ).json()) as Record<string, number>;
      expect(
        calleeStats['weft_sidecar_tunnels_total{place="sidecar-inbound",protocol="udp"}'],
      ).toBeGreaterThanOrEqual(2);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
