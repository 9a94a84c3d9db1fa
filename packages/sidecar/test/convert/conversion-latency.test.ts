import http2 from "node:http2";
import { type DescService, type Message, toJson } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConvertedSidecar, startConvertedSidecar } from "./converted-sidecar.ts";

const N = 200;
const INPUT = { shop: "n", orderId: "o-1", includeItems: true };

/** p50 and p99 in milliseconds; calls alternate between paths so load drift hits all alike. */
async function timeInterleaved(
  fs: readonly (() => Promise<unknown>)[],
): Promise<{ p50: number; p99: number }[]> {
  for (let i = 0; i < 50; i++) for (const f of fs) await f();
  const t = fs.map(() => [] as number[]);
  for (let i = 0; i < N; i++) {
    for (const [k, f] of fs.entries()) {
      const t0 = performance.now();
      await f();
      t[k]?.push(performance.now() - t0);
    }
  }
  return t.map((x) => {
    x.sort((a, b) => a - b);
    return { p50: x[N >> 1] as number, p99: x[Math.floor(N * 0.99)] as number };
  });
}

/**
 * What conversion costs on a local loop: the same GetOrder directly to the backend, as gRPC
 * through the sidecar (the hop and the inbound chain, no conversion), and converted from each
 * protocol. Every path must give the same answer; the numbers are printed for the report.
 */
describe("conversion latency, local loop", () => {
  let s: ConvertedSidecar;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    s = await startConvertedSidecar();
    session = http2.connect(`http://127.0.0.1:${s.convertPort}`);
  });
  afterAll(async () => {
    session?.destroy();
    await s?.close();
  });

  it("measures each path after checking it answers the same", async () => {
    const m = s.service.methods.find((x) => x.name === "GetOrder");
    if (!m) throw new Error("GetOrder");
    const unary = (t: Transport) => {
      const c = createClient(s.service, t) as Client<DescService>;
      const call = c[m.localName] as unknown as (i: unknown) => Promise<Message>;
      return async () => toJson(m.output, await call(INPUT));
    };
    const convert = `http://127.0.0.1:${s.convertPort}`;
    const restH2 = () =>
      new Promise<unknown>((resolve, reject) => {
        const req = session.request({ ":path": "/v1/shops/n/orders/o-1?include_items=true" });
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
        req.on("error", reject);
        req.end();
      });
    const direct = unary(createGrpcTransport({ baseUrl: `http://127.0.0.1:${s.backend.port}` }));
    const paths: [string, () => Promise<unknown>][] = [
      ["direct gRPC to the backend", direct],
      ["gRPC via sidecar (no conversion)", unary(createGrpcTransport({ baseUrl: convert }))],
      ["REST/JSON via sidecar (h2c)", restH2],
      [
        "Connect JSON via sidecar (h2c)",
        unary(createConnectTransport({ baseUrl: convert, httpVersion: "2" })),
      ],
      [
        "Connect proto via sidecar (h2c)",
        unary(createConnectTransport({ baseUrl: convert, httpVersion: "2", useBinaryFormat: true })),
      ],
      [
        "gRPC-Web proto via sidecar (h2c)",
        unary(createGrpcWebTransport({ baseUrl: convert, httpVersion: "2" })),
      ],
    ];
    const want = await direct();
    for (const [, f] of paths) expect(await f()).toEqual(want);
    const times = await timeInterleaved(paths.map(([, f]) => f));
    // CPU per call of the whole process (client, sidecar and backend share it): less swayed by
    // other load than wall time, and the difference to the direct path is what the sidecar costs.
    const cpu: number[] = [];
    for (const [, f] of paths) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) await f();
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / N);
    }
    const lines = paths.map(([name], k) => {
      const t = times[k] as { p50: number; p99: number };
      return `${name.padEnd(36)} p50 ${t.p50.toFixed(3)} ms  p99 ${t.p99.toFixed(3)} ms  cpu ${(cpu[k] as number).toFixed(0)} us/call`;
    });
    console.info(`GetOrder, ${N} sequential calls each:\n${lines.join("\n")}`);
  }, 120_000);
});
