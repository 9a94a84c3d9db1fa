/**
 * A mesh call against a raw connect-node call, in one run, both over TLS on loopback:
 *
 *   A (raw):  @connectrpc/connect-node gRPC client (createGrpcTransport: HTTP/2, TLS trusting
 *             the test CA) -> a plain connect-node HTTP/2 TLS server.
 *   B (mesh): createMeshClient over createMesh (the default outbound chain: tracing, metrics,
 *             timeout, retry with budget, P2C) -> an in-process mesh server (createMesh +
 *             serve) with mutual TLS and its inbound chain.
 *
 * Same handler, same message. Both servers run in a child process (the machine has two
 * cores: one for the clients, one for the servers), the clients here. Measured in
 * interleaved rounds (A, B, A, B ...) because the machine is noisy:
 *   - throughput at saturation: CONCURRENCY calls in flight for ROUND_MS;
 *   - latency at a fixed moderate rate: RATE calls/s for ROUND_MS, from each call's
 *     scheduled start (no coordinated omission), p50 and p99.
 * Targets: B >= 0.9x A's throughput; B's p50 <= A's p50 + 10%.
 */
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { parseMeshConfig } from "@weft/core";
import type { MeshCredentials } from "@weft/core/transport";
import { createMesh, createMeshClient } from "../src/index.ts";
import { EchoService, SayResponseSchema } from "../test/gen/echo/v1/echo_pb.js";
import { anchorOf, testCa, workload } from "../test/support/pki.ts";

const CONCURRENCY = 32;
/** Calls/s for the latency rounds: at most this, and at most a quarter of the slower client's throughput. */
const MAX_RATE = 1000;
const ROUND_MS = 2_000;
const ROUNDS = 6;
export const MESSAGE = { text: "x".repeat(64) };

const ID = (sa: string) => `spiffe://weft.local/ns/bench/sa/${sa}`;

export const impl: ServiceImpl<typeof EchoService> = {
  say: (req) => create(SayResponseSchema, { text: req.text, replica: "bench" }),
  create: (req) => create(SayResponseSchema, { text: req.text }),
  count: async function* () {},
  collect: async () => create(SayResponseSchema, {}),
  chat: async function* () {},
};

interface ServerCerts {
  raw: { key: string; cert: string };
  mesh: MeshCredentials;
}

interface Ports {
  raw: number;
  mesh: number;
}

/** The child: both servers, until the parent disconnects. */
async function serve(certs: ServerCerts): Promise<void> {
  const raw = http2.createSecureServer(
    { key: certs.raw.key, cert: certs.raw.cert, allowHTTP1: false },
    connectNodeAdapter({ routes: (router) => router.service(EchoService, impl) }),
  );
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  const mesh = await createMesh({
    service: "echo",
    namespace: "bench",
    credentials: certs.mesh,
    listen: { host: "127.0.0.1", port: 0 },
  });
  mesh.serve(EchoService, impl);
  const address = raw.address();
  const ports: Ports = {
    raw: typeof address === "object" && address ? address.port : 0,
    mesh: mesh.port ?? 0,
  };
  process.send?.(ports);
  process.on("disconnect", () => process.exit(0));
}

export type Echo = Client<typeof EchoService>;

/** Failed calls per client: reported, never hidden in an average. */
export const failures = new Map<Echo, number>();
const failed = (client: Echo) => failures.set(client, (failures.get(client) ?? 0) + 1);

/** Completed calls per second with `concurrency` calls always in flight for `ms`. */
export async function throughput(client: Echo, concurrency: number, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await client.say(MESSAGE);
        done++;
      } catch {
        failed(client);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (done * 1000) / (performance.now() - start);
}

/** Latencies (ms) of calls started at `rate`/s for `ms`, each from its scheduled start. */
export async function latencies(client: Echo, rate: number, ms: number): Promise<number[]> {
  const interval = 1000 / rate;
  const count = Math.floor((ms / 1000) * rate);
  const out: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      client.say(MESSAGE).then(
        () => void out.push(performance.now() - due),
        () => void failed(client),
      ),
    );
  }
  await Promise.all(pending);
  return out;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

function median(xs: readonly number[]): number {
  return quantile([...xs], 0.5);
}

async function main(): Promise<void> {
  const began = performance.now();
  const ca = await testCa();
  const anchor = anchorOf(ca);
  const serverMesh = await workload(ca, ID("echo"));
  const certs: ServerCerts = { raw: { key: serverMesh.key, cert: serverMesh.chain }, mesh: serverMesh };

  const child = fork(new URL(import.meta.url).pathname, ["--serve"], {
    execArgv: process.execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ports = await new Promise<Ports>((resolve, reject) => {
    child.once("message", (m) => resolve(m as Ports));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`bench server exited (${code}) before listening`)));
    child.send(certs);
  });

  // A: raw connect-node (its gRPC transport always speaks HTTP/2). The server's certificate names a SPIFFE ID, not a host name, so
  // the host-name check is the mesh's own SPIFFE check's job in B and skipped in A.
  const rawTransport = createGrpcTransport({
    baseUrl: `https://127.0.0.1:${ports.raw}`,
    nodeOptions: { ca: anchor, checkServerIdentity: () => undefined },
  });
  const raw = createClient(EchoService, rawTransport);

  // B: the in-process mesh with the mesh defaults of a typical configuration.
  const mesh = await createMesh({
    service: "web",
    namespace: "bench",
    credentials: await workload(ca, ID("web")),
    config: parseMeshConfig({
      file: "bench.yaml",
      text: `
apiVersion: weft.dev/v1
kind: Mesh
spec:
  defaults:
    timeout: { request: 5s }
    retry: { attempts: 3, budget: { ratio: 0.2, minRetriesPerSecond: 10, window: 10s } }
    loadBalancer: { algorithm: ALGORITHM_P2C_PEAK_EWMA }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: echo, namespace: bench }
spec:
  rpcServices: [echo.v1.EchoService]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: echo, namespace: bench }
spec:
  endpoints:
    - { address: 127.0.0.1, port: ${ports.mesh} }
`,
    }),
  });
  const meshed = createMeshClient(EchoService, mesh);

  const clients: [string, Echo][] = [
    ["raw", raw],
    ["mesh", meshed],
  ];
  // Warm-up (connections, JIT, TLS sessions), which also sizes the latency rounds' rate.
  let slowest = Number.POSITIVE_INFINITY;
  for (const [, c] of clients) slowest = Math.min(slowest, await throughput(c, CONCURRENCY, 1_500));
  const RATE = Math.max(50, Math.min(MAX_RATE, Math.floor(slowest / 4 / 50) * 50));
  failures.clear();

  const tput = new Map<string, number[]>(clients.map(([n]) => [n, []]));
  const lat = new Map<string, number[]>(clients.map(([n]) => [n, []]));
  const p50s = new Map<string, number[]>(clients.map(([n]) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // A, B in even rounds, B, A in odd ones, so neither always goes first.
    const order = r % 2 === 0 ? clients : [...clients].reverse();
    for (const [name, c] of order) tput.get(name)?.push(await throughput(c, CONCURRENCY, ROUND_MS));
    for (const [name, c] of order) {
      const l = await latencies(c, RATE, ROUND_MS);
      lat.get(name)?.push(...l);
      p50s.get(name)?.push(quantile(l, 0.5));
    }
  }

  const row = (name: string) => {
    const t = median(tput.get(name) ?? []);
    const all = lat.get(name) ?? [];
    return { name, rps: t, p50: quantile(all, 0.5), p99: quantile(all, 0.99), samples: all.length };
  };
  const a = row("raw");
  const b = row("mesh");
  const tputRatio = b.rps / a.rps;
  const p50Delta = b.p50 / a.p50 - 1;
  const p99Delta = b.p99 / a.p99 - 1;

  console.log(
    `\nWeft in-process mesh vs raw connect-node, TLS on 127.0.0.1, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`,
  );
  console.log(
    `throughput: ${CONCURRENCY} calls in flight (median of rounds); latency: ${RATE} calls/s from scheduled start\n`,
  );
  console.log(
    `${"client".padEnd(8)}${"calls/s".padStart(10)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}`,
  );
  for (const x of [a, b]) {
    console.log(
      `${x.name.padEnd(8)}${x.rps.toFixed(0).padStart(10)}${x.p50.toFixed(3).padStart(10)}${x.p99.toFixed(3).padStart(10)}`,
    );
  }
  console.log(
    `\nthroughput ratio mesh/raw ${tputRatio.toFixed(3)}x (target >= 0.9x): ${tputRatio >= 0.9 ? "MET" : "NOT MET"}`,
  );
  console.log(
    `p50 mesh vs raw ${(p50Delta * 100).toFixed(1)}% (target <= +10%): ${p50Delta <= 0.1 ? "MET" : "NOT MET"}`,
  );
  console.log(`p99 mesh vs raw ${(p99Delta * 100).toFixed(1)}%`);
  console.log(`failed calls: raw ${failures.get(raw) ?? 0}, mesh ${failures.get(meshed) ?? 0}`);
  console.log(
    `per-round throughput raw [${(tput.get("raw") ?? []).map((x) => x.toFixed(0)).join(", ")}] mesh [${(tput.get("mesh") ?? []).map((x) => x.toFixed(0)).join(", ")}]`,
  );
  console.log(
    `per-round p50 ms raw [${(p50s.get("raw") ?? []).map((x) => x.toFixed(3)).join(", ")}] mesh [${(p50s.get("mesh") ?? []).map((x) => x.toFixed(3)).join(", ")}]`,
  );
  console.log(`(${((performance.now() - began) / 1000).toFixed(1)} s)`);

  const out = join(dirname(fileURLToPath(import.meta.url)), "results", "latest.json");
  mkdirSync(dirname(out), { recursive: true });
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadavg(),
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    concurrency: CONCURRENCY,
    latencyRate: RATE,
    raw: { ...a, throughputPerRound: tput.get("raw"), failed: failures.get(raw) ?? 0 },
    mesh: { ...b, throughputPerRound: tput.get("mesh"), failed: failures.get(meshed) ?? 0 },
    throughputRatio: tputRatio,
    p50Delta,
    p99Delta,
    met: { throughput: tputRatio >= 0.9, p50: p50Delta <= 0.1 },
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${out}`);

  await mesh.close({ graceMs: 0 });
  child.disconnect();
  process.exit(0);
}

if (process.argv.includes("--serve")) {
  process.once("message", (certs) => {
    serve(certs as ServerCerts).catch((e) => {
      console.error(e);
      process.exit(1);
    });
  });
} else if (import.meta.main) {
  // Imported by the cross-path suite (tools/bench) for its client loops; run alone, it benches.
  const guard = setTimeout(() => {
    console.error("bench took longer than 170 s; stopping");
    process.exit(2);
  }, 170_000);
  guard.unref();
  await main();
}
