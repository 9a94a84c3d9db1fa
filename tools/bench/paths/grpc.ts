import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseMeshConfig } from "@weft/core";
import { type Echo, MESSAGE } from "../../../packages/inprocess/bench/mesh-vs-raw.bench.ts";
import { createMesh, createMeshClient } from "../../../packages/inprocess/src/index.ts";
import { EchoService, SayRequestSchema } from "../../../packages/inprocess/test/gen/echo/v1/echo_pb.js";
import { testCa, workload } from "../../../packages/inprocess/test/support/pki.ts";
import { sidecar } from "../../../packages/sidecar/bench/bench.ts";
import { type ProxyHop, proxyConfig } from "../../../packages/sidecar/bench/haproxy.ts";
import { freePort, waitForPort } from "../../../packages/sidecar/bench/processes.ts";
import type { EchoAppPorts } from "../apps/echo-app.ts";
import { inprocessPath } from "../measure/inprocess-path.ts";
import { h2loadPath, type RequestPath } from "../measure/load-path.ts";
import type { Phase } from "./phase.ts";
import { transcodePaths } from "./transcode.ts";

/** The sidecars' view: the gRPC app is service orders (the PKI's callee identity), reached at `port`. */
const sidecarMesh = (port: number) =>
  [
    "apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: orders, namespace: shop }",
    "spec: { rpcServices: [echo.v1.EchoService], ports: [{ name: grpc, port: 8080, protocol: PROTOCOL_GRPC }] }",
    "---\napiVersion: weft.dev/v1\nkind: Endpoints\nmetadata: { name: orders, namespace: shop }",
    `spec: { endpoints: [{ address: 127.0.0.1, port: ${port} }] }\n`,
  ].join("\n");

/** The in-process client's view: service echo at the app's mesh port, the default chain. */
const inprocessMesh = (port: number) =>
  [
    "apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: echo, namespace: bench }",
    "spec: { rpcServices: [echo.v1.EchoService] }",
    "---\napiVersion: weft.dev/v1\nkind: Endpoints\nmetadata: { name: echo, namespace: bench }",
    `spec: { endpoints: [{ address: 127.0.0.1, port: ${port} }] }\n`,
  ].join("\n");

/** A gRPC message on the wire: uncompressed flag, 4-byte big-endian length, the message. */
function grpcFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

export interface GrpcPhase {
  readonly paths: RequestPath[];
  close(): Promise<void>;
}

/**
 * gRPC unary (Echo.Say, 64-byte text) against one Node app: direct, through HAProxy and weft
 * sidecars (1 hop: h2c into the callee's proxy; 2 hops: h2c into the caller's, mTLS between),
 * all with h2load; the in-process mesh (mTLS, client and server chains) and a plain
 * connect-node client against the same app with an in-process client loop; and REST/JSON
 * transcoding against a direct Connect call on the app's in-process server, with h2load.
 */
export async function grpcPaths(phase: Phase): Promise<GrpcPhase> {
  const { procs, dir } = phase;
  const ca = await testCa();
  const id = (sa: string) => `spiffe://weft.local/ns/bench/sa/${sa}`;
  const app = fork(new URL("../apps/echo-app.ts", import.meta.url).pathname, [], {
    execArgv: process.execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ports = await new Promise<EchoAppPorts>((resolve, reject) => {
    app.once("message", (m) => resolve(m as EchoAppPorts));
    app.once("exit", (code) => reject(new Error(`bench: echo app exited (${code}) before listening`)));
    workload(ca, id("echo")).then((c) => app.send(c), reject);
  });
  const appPid = app.pid as number;

  const [s1In, s1Out, calleeIn, calleeOut, callerIn, callerOut, callerLocal] = (await Promise.all(
    Array.from({ length: 7 }, () => freePort()),
  )) as [number, number, number, number, number, number, number];
  writeFileSync(join(dir, "grpc-1.yaml"), sidecarMesh(s1In));
  writeFileSync(join(dir, "grpc-2.yaml"), sidecarMesh(calleeIn));
  const h2cApp = ["--app-protocol", "h2c"];
  const s1 = await sidecar(procs, dir, "grpc-weft-1", {
    service: "orders",
    config: join(dir, "grpc-1.yaml"),
    appPort: ports.h2c,
    inbound: s1In,
    outbound: s1Out,
    extraArgs: h2cApp,
  });
  const callee = await sidecar(procs, dir, "grpc-weft-2-callee", {
    service: "orders",
    config: join(dir, "grpc-2.yaml"),
    appPort: ports.h2c,
    inbound: calleeIn,
    outbound: calleeOut,
    tls: "orders",
    extraArgs: h2cApp,
  });
  const caller = await sidecar(procs, dir, "grpc-weft-2-caller", {
    service: "web",
    config: join(dir, "grpc-2.yaml"),
    appPort: 9,
    inbound: callerIn,
    outbound: callerOut,
    localPort: callerLocal,
    tls: "web",
  });
  const haproxy = async (hop: ProxyHop, identity: string) => {
    const tls = { ca: join(dir, "ca.pem"), crt: join(dir, `${identity}.haproxy.pem`) };
    const child = procs.start(hop.name, "haproxy", ["-db", "-f", proxyConfig(dir, hop, tls)]);
    await waitForPort(hop.listen);
    return child.pid as number;
  };
  const [ha1In, ha2aIn, ha2bIn] = [await freePort(), await freePort(), await freePort()];
  const ha1 = await haproxy(
    { name: "grpc-haproxy-1", listen: ha1In, inbound: "h2c", upstream: ports.h2c, outbound: "h2c" },
    "orders",
  );
  const ha2b = await haproxy(
    { name: "grpc-haproxy-2b", listen: ha2bIn, inbound: "mtls", upstream: ports.h2c, outbound: "h2c" },
    "orders",
  );
  const ha2a = await haproxy(
    { name: "grpc-haproxy-2a", listen: ha2aIn, inbound: "h2c", upstream: ha2bIn, outbound: "mtls" },
    "web",
  );
  await waitForPort(callerLocal);

  const body = join(dir, "say.grpc");
  writeFileSync(body, grpcFrame(toBinary(SayRequestSchema, create(SayRequestSchema, MESSAGE))));
  const h2load = (row: RequestPath["row"], pids: number[], port: number) =>
    h2loadPath(
      row,
      { proxies: pids, app: appPid },
      {
        url: `http://127.0.0.1:${port}/echo.v1.EchoService/Say`,
        h1: false,
        headers: ["content-type: application/grpc", "te: trailers"],
        data: body,
      },
      phase.logFile,
    );
  const protocol = "gRPC unary (h2c)";
  const generator = "h2load";
  const proxied = (n: number) => `${n} proxy process(es) + app`;
  const byH2load = [
    h2load({ id: "grpc/direct", protocol, path: "direct", generator, counted: "app" }, [], ports.h2c),
    h2load(
      {
        id: "grpc/haproxy-1",
        protocol,
        path: "HAProxy, 1 hop",
        generator,
        counted: proxied(1),
        direct: "grpc/direct",
      },
      [ha1],
      ha1In,
    ),
    h2load(
      {
        id: "grpc/weft-1",
        protocol,
        path: "weft sidecar, 1 hop",
        generator,
        counted: proxied(1),
        direct: "grpc/direct",
        haproxy: "grpc/haproxy-1",
      },
      [s1],
      s1In,
    ),
    h2load(
      {
        id: "grpc/haproxy-2",
        protocol,
        path: "HAProxy, 2 hops",
        generator,
        counted: proxied(2),
        direct: "grpc/direct",
      },
      [ha2a, ha2b],
      ha2aIn,
    ),
    h2load(
      {
        id: "grpc/weft-2",
        protocol,
        path: "weft sidecar, 2 hops",
        generator,
        counted: proxied(2),
        direct: "grpc/direct",
        haproxy: "grpc/haproxy-2",
      },
      [caller, callee],
      callerLocal,
    ),
  ];
  // Every h2load path must answer a real gRPC call (h2load itself cannot see grpc-status).
  for (const port of [ports.h2c, ha1In, s1In, ha2aIn, callerLocal]) {
    const echo = createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const got = await echo.say(MESSAGE);
    if (got.text !== MESSAGE.text) throw new Error(`bench: gRPC via port ${port} answered "${got.text}"`);
  }

  // The plain client gets what the mesh's own sockets have: no Nagle delay.
  const raw: Echo = createClient(
    EchoService,
    createGrpcTransport({
      baseUrl: `http://127.0.0.1:${ports.h2c}`,
      nodeOptions: { createConnection: () => connect({ host: "127.0.0.1", port: ports.h2c, noDelay: true }) },
    }),
  );
  const mesh = await createMesh({
    service: "web",
    namespace: "bench",
    credentials: await workload(ca, id("web")),
    config: parseMeshConfig({ file: "bench-inprocess.yaml", text: inprocessMesh(ports.mesh) }),
  });
  const meshed: Echo = createMeshClient(EchoService, mesh);
  await meshed.say(MESSAGE);
  const loop = "in-process client loop";
  const inprocess = [
    inprocessPath(
      {
        id: "grpc/inprocess-plain",
        protocol: "gRPC unary",
        path: "direct (connect-node client, h2c)",
        generator: loop,
        counted: "client process + app",
      },
      [appPid],
      raw,
    ),
    inprocessPath(
      {
        id: "grpc/inprocess-mesh",
        protocol: "gRPC unary",
        path: "in-process mesh (mTLS, client + server chains)",
        generator: loop,
        counted: "client process + app",
        direct: "grpc/inprocess-plain",
      },
      [appPid],
      meshed,
    ),
  ];

  return {
    paths: [...byH2load, ...inprocess, ...transcodePaths(phase, ports.books, appPid)],
    async close() {
      await mesh.close({ graceMs: 0 });
      app.disconnect();
    },
  };
}
