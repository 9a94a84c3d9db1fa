import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DatagramChannel,
  DatagramDecoder,
  encodeDatagram,
  type InboundTunnel,
  type MeshServer,
  MtlsH2Transport,
  relayTcp,
  relayUdp,
  TransportClient,
} from "../../src/transport/index.ts";
import { CLIENT_ID, createCa, issueLeaf, SERVER_ID } from "./certs.ts";
import { endpointOf } from "./harness.ts";

let mesh: MeshServer;
let client: TransportClient;
let tcpEcho: Server;
let udpEcho: UdpSocket;
const tunnels: InboundTunnel[] = [];

beforeAll(async () => {
  const ca = await createCa("weft mesh CA");
  mesh = await new MtlsH2Transport(await issueLeaf(ca, SERVER_ID)).listen(
    { port: 0 },
    {
      request: (stream) => stream.respond({ ":status": 404 }, { endStream: true }),
      tunnel: (tunnel) => {
        tunnels.push(tunnel);
        if (tunnel.protocol === "udp") relayUdp(tunnel);
        else void relayTcp(tunnel);
      },
    },
  );
  client = new TransportClient({
    transport: new MtlsH2Transport(await issueLeaf(ca, CLIENT_ID)),
    place: "sidecar-outbound",
    keepalive: false,
  });
  tcpEcho = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((r) => tcpEcho.listen(0, "127.0.0.1", r));
  udpEcho = createSocket("udp4");
  udpEcho.on("message", (msg, rinfo) => udpEcho.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => udpEcho.bind(0, "127.0.0.1", r));
});

afterAll(async () => {
  client.close();
  await mesh.close();
  await new Promise<void>((r) => tcpEcho.close(() => r()));
  udpEcho.close();
});

describe("CONNECT tunnels (HBONE)", () => {
  it("echoes 1 MiB of random bytes through a TCP tunnel byte for byte", async () => {
    const port = (tcpEcho.address() as { port: number }).port;
    const tunnel = await client.openTunnel(endpointOf(mesh, SERVER_ID), {
      authority: `127.0.0.1:${port}`,
      protocol: "tcp",
    });
    const payload = randomBytes(1024 * 1024);
    const received: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      tunnel.on("data", (c: Buffer) => received.push(c));
      tunnel.on("end", resolve);
      tunnel.on("error", reject);
    });
    tunnel.end(payload);
    await done;
    const echoed = Buffer.concat(received);
    expect(echoed.length).toBe(payload.length);
    expect(echoed.equals(payload)).toBe(true);
    const seen = tunnels.at(-1);
    expect(seen?.authority).toBe(`127.0.0.1:${port}`);
    expect(seen?.peer.identity?.spiffeId).toBe(CLIENT_ID);
  });

  it("refuses a tunnel whose target is unreachable with 502 and says why", async () => {
    const err = await client
      .openTunnel(endpointOf(mesh, SERVER_ID), { authority: "127.0.0.1:1", protocol: "tcp" })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err?.message).toMatch(/refused with status 502: cannot reach 127\.0\.0\.1:1/);
  });

  it("returns each datagram intact through a length-prefixed UDP tunnel", async () => {
    const port = udpEcho.address().port;
    const stream = await client.openTunnel(endpointOf(mesh, SERVER_ID), {
      authority: `127.0.0.1:${port}`,
      protocol: "udp",
    });
    const channel = new DatagramChannel(stream);
    const sent = Array.from({ length: 64 }, (_, i) => randomBytes(1 + ((i * 97) % 1400)));
    const received: Uint8Array[] = [];
    const all = new Promise<void>((resolve) =>
      channel.on("message", (d) => {
        received.push(d);
        if (received.length === sent.length) resolve();
      }),
    );
    for (const d of sent) channel.send(d);
    await all;
    expect(received.map((d) => Buffer.from(d).toString("hex")).sort()).toEqual(
      sent.map((d) => d.toString("hex")).sort(),
    );
    channel.close();
  });
});

describe("datagram framing", () => {
  it("decodes any datagrams from any split of their frames", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (datagrams, cuts) => {
          const framed = Buffer.concat(datagrams.map((d) => encodeDatagram(d)));
          const decoder = new DatagramDecoder();
          const out: Uint8Array[] = [];
          let at = 0;
          for (let i = 0; at < framed.length; i++) {
            const size = cuts[i % cuts.length] as number;
            out.push(...decoder.push(framed.subarray(at, at + size)));
            at += size;
          }
          expect(out.map((d) => Buffer.from(d).toString("hex"))).toEqual(
            datagrams.map((d) => Buffer.from(d).toString("hex")),
          );
          expect(decoder.buffered).toBe(0);
        },
      ),
    );
  });

  it("frames with a 2-byte big-endian length and refuses datagrams over 65535 bytes", () => {
    expect([...encodeDatagram(new Uint8Array([7, 8, 9]))]).toEqual([0, 3, 7, 8, 9]);
    expect([...encodeDatagram(new Uint8Array(0x0102)).subarray(0, 2)]).toEqual([1, 2]);
    expect(() => encodeDatagram(new Uint8Array(65536))).toThrow(/exceeds the 65535-byte tunnel frame/);
  });
});
