import { spawn } from "node:child_process";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { create, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { FakeClock, grpcHealthV1, grpcReflectionV1alpha, registryFromFiles } from "@weft/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AppHealth } from "../../src/convert/health.ts";
import { UpstreamPool } from "../../src/http/upstream.ts";
import { tempDir } from "../process-helpers.ts";
import { type ConvertedSidecar, startConvertedSidecar } from "./converted-sidecar.ts";
import { buildDescriptorSet, startOrdersBackend, writeDescriptorSet } from "./orders-backend.ts";

const { Health, HealthCheckRequestSchema, HealthCheckResponseSchema } = grpcHealthV1;
const Status = grpcHealthV1.HealthCheckResponse_ServingStatus;
const BUNDLE = new URL("../../dist/weft-sidecar.mjs", import.meta.url).pathname;
const REFLECTION_PROTOS = join(import.meta.dirname, "../../../../node_modules/@grpc/reflection/build/proto");

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The reflection response as grpc-js decodes it with proto-loader (field names as in the .proto). */
interface ReflectionReply {
  message_response: string;
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

/**
 * A gRPC reflection client as grpcurl is one: grpc-js with the reflection .proto that
 * @grpc/reflection ships, one ServerReflectionInfo stream, one answer per request.
 */
function reflectionClient(port: number) {
  const def = protoLoader.loadSync("grpc/reflection/v1/reflection.proto", {
    includeDirs: [REFLECTION_PROTOS],
    keepCase: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  type Duplex = grpc.ClientDuplexStream<object, ReflectionReply>;
  const call = (client as unknown as { ServerReflectionInfo(): Duplex }).ServerReflectionInfo();
  const waiting: ((r: ReflectionReply) => void)[] = [];
  const failed = new Promise<never>((_, reject) => call.on("error", reject));
  call.on("data", (r: ReflectionReply) => waiting.shift()?.(r));
  closers.push(() => {
    call.end();
    client.close();
  });
  return (request: object): Promise<ReflectionReply> => {
    const answered = new Promise<ReflectionReply>((resolve) => waiting.push(resolve));
    call.write(request);
    return Promise.race([answered, failed]);
  };
}

function healthClient(port: number) {
  const sessionManager = new Http2SessionManager(`http://127.0.0.1:${port}`);
  closers.push(() => sessionManager.abort());
  return createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager }));
}

async function listed(ask: ReturnType<typeof reflectionClient>): Promise<string[]> {
  const r = await ask({ list_services: "" });
  return (r.list_services_response?.service ?? []).map((s) => s.name);
}

describe("reflection and health answered by the sidecar from a descriptor set", () => {
  let s: ConvertedSidecar;
  beforeAll(async () => {
    s = await startConvertedSidecar();
  }, 60_000);
  afterAll(() => s.close());

  it("lists the services and hands out the file of OrderService, with its imports, to a grpc-js client", async () => {
    const ask = reflectionClient(s.inboundPort);
    expect(await listed(ask)).toEqual([
      "convert.v1.OrderService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    const r = await ask({ file_containing_symbol: "convert.v1.OrderService" });
    expect(r.message_response).toBe("file_descriptor_response");
    const files = (r.file_descriptor_response?.file_descriptor_proto ?? []).map((b) =>
      fromBinary(FileDescriptorProtoSchema, b),
    );
    // The answer stands alone: a registry builds from it, google/api/* imports included.
    const registry = registryFromFiles(files, "reflection through the sidecar");
    const getOrder = registry
      .getService("convert.v1.OrderService")
      ?.methods.find((m) => m.name === "GetOrder");
    expect(getOrder?.input.typeName).toBe("convert.v1.GetOrderRequest");
    expect(files.map((f) => f.name)).toContain("google/api/annotations.proto");

    const byName = await ask({ file_by_filename: files[0]?.name });
    expect(byName.file_descriptor_response?.file_descriptor_proto[0]).toEqual(
      r.file_descriptor_response?.file_descriptor_proto[0],
    );
    const method = await ask({ file_containing_symbol: "convert.v1.OrderService.GetOrder" });
    expect(method.message_response).toBe("file_descriptor_response");
  });

  it("answers NOT_FOUND for a symbol or file it has no descriptor of, and the stream goes on", async () => {
    const ask = reflectionClient(s.inboundPort);
    const symbol = await ask({ file_containing_symbol: "convert.v1.NoSuchService" });
    expect(symbol.error_response).toMatchObject({ error_code: Code.NotFound });
    expect(symbol.error_response?.error_message).toContain("convert.v1.NoSuchService");
    const file = await ask({ file_by_filename: "nope.proto" });
    expect(file.error_response?.error_code).toBe(Code.NotFound);
    expect(await listed(ask)).toContain("convert.v1.OrderService");
  });

  it("speaks v1alpha too (what older grpcurl asks first), on the conversion port as well", async () => {
    for (const port of [s.inboundPort, s.convertPort]) {
      const sessionManager = new Http2SessionManager(`http://127.0.0.1:${port}`);
      closers.push(() => sessionManager.abort());
      const client = createClient(
        grpcReflectionV1alpha.ServerReflection,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager }),
      );
      const requests = (async function* () {
        yield create(grpcReflectionV1alpha.ServerReflectionRequestSchema, {
          messageRequest: { case: "fileContainingSymbol", value: "convert.v1.GetOrderRequest" },
        });
      })();
      const answers = [];
      for await (const a of client.serverReflectionInfo(requests)) answers.push(a.messageResponse.case);
      expect(answers).toEqual(["fileDescriptorResponse"]);
    }
  });

  it("Check says SERVING for the server and each described service, NOT_FOUND for another", async () => {
    const health = healthClient(s.inboundPort);
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "convert.v1.OrderService" })).status).toBe(Status.SERVING);
    const err = await health.check({ service: "convert.v1.Unknown" }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.NotFound);
    expect(ConnectError.from(err).rawMessage).toContain('"convert.v1.Unknown"');
    // A browser or curl reaches the same answer as Connect JSON on the conversion port.
    const res = await fetch(`http://127.0.0.1:${s.convertPort}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ service: "convert.v1.OrderService" }),
    });
    expect(await res.json()).toEqual({ status: "SERVING" });
    const web = createClient(
      Health,
      createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${s.convertPort}`, httpVersion: "1.1" }),
    );
    expect((await web.check({ service: "" })).status).toBe(Status.SERVING);
  });
});

describe("health follows the app and the sidecar's own drain", () => {
  it("Check turns NOT_SERVING once the app's port refuses connections", async () => {
    const s = await startConvertedSidecar();
    closers.push(() => s.close());
    const health = healthClient(s.inboundPort);
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    const closed = performance.now();
    s.backend.forceClose();
    // Not asked before: the app is asked now, and refuses.
    expect((await health.check({ service: "convert.v1.OrderService" })).status).toBe(Status.NOT_SERVING);
    // "" was answered a moment ago: that answer stands for a second, no longer.
    let status = (await health.check({ service: "" })).status;
    while (status === Status.SERVING && performance.now() - closed < 3_000) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await health.check({ service: "" })).status;
    }
    expect(status).toBe(Status.NOT_SERVING);
    expect(performance.now() - closed).toBeLessThan(2_000);
    // Reflection needs no app: the descriptors are the sidecar's.
    expect(await listed(reflectionClient(s.inboundPort))).toContain("convert.v1.OrderService");
  }, 30_000);

  it("Watch sees SERVING, then NOT_SERVING when the sidecar drains, and then ends", async () => {
    const s = await startConvertedSidecar();
    closers.push(() => s.close());
    const seen: number[] = [];
    let stopping: Promise<void> | undefined;
    const started = performance.now();
    for await (const r of healthClient(s.inboundPort).watch({ service: "convert.v1.OrderService" })) {
      seen.push(r.status);
      stopping ??= s.sidecar.stop(5_000);
    }
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    await stopping;
    // The watcher was let go at its next look (1 s), not at the end of the 5 s grace.
    expect(performance.now() - started).toBeLessThan(4_000);
  }, 30_000);
});

describe("AppHealth (the app's health as the sidecar reports it)", () => {
  it("keeps an answer for one second of its clock, then asks the app again", async () => {
    const { registry } = await buildDescriptorSet();
    const backend = await startOrdersBackend(registry.getService("convert.v1.OrderService") as DescService);
    closers.push(() => backend.forceClose());
    const pool = new UpstreamPool();
    closers.push(() => pool.close());
    const clock = new FakeClock(0);
    const health = new AppHealth({
      app: { protocol: "h2c", address: "127.0.0.1", port: backend.port },
      pool,
      clock,
      described: new Set(["convert.v1.OrderService"]),
    });
    // The app has no health service (UNIMPLEMENTED), so it is up: SERVING for what is described.
    expect(await health.status("")).toBe(Status.SERVING);
    expect(await health.status("convert.v1.OrderService")).toBe(Status.SERVING);
    expect(await health.status("convert.v1.Other")).toBeUndefined();
    backend.forceClose();
    await clock.advance(999);
    expect(await health.status("")).toBe(Status.SERVING);
    await clock.advance(1);
    expect(await health.status("")).toBe(Status.NOT_SERVING);
    // Unknown stays unknown whether or not the app can be reached.
    expect(await health.status("convert.v1.Other")).toBeUndefined();
  }, 30_000);
});

/** A grpc-js app with its own grpc.health.v1 (and no reflection): it says NOT_SERVING for "". */
async function appWithOwnHealth() {
  const server = new grpc.Server();
  const codec = <T extends Message>(schema: Parameters<typeof toBinary>[0]) => ({
    serialize: (m: T) => Buffer.from(toBinary(schema, m)),
    deserialize: (b: Buffer) => fromBinary(schema, b) as T,
  });
  const req = codec(HealthCheckRequestSchema);
  const res = codec(HealthCheckResponseSchema);
  const check: grpc.MethodDefinition<Message, Message> = {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  };
  server.addService({ Check: check } as grpc.ServiceDefinition, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, Message>, cb: grpc.sendUnaryData<Message>) => {
      const status = call.request.service === "" ? Status.NOT_SERVING : Status.SERVING;
      cb(null, create(HealthCheckResponseSchema, { status }));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  closers.push(() => server.forceShutdown());
  return port;
}

/** `weft-sidecar run` from the bundle; resolves with its ports once it logs that it started. */
async function bundledSidecar(args: string[]): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [BUNDLE, "run", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  closers.push(() => {
    child.kill("SIGTERM");
    return new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(null)));
  });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bundled sidecar did not start: ${log}`)), 15_000);
    child.once("exit", (code) => reject(new Error(`the bundled sidecar exited ${code}: ${log}`)));
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const line = log.split("\n").find((l) => l.includes('"weft-sidecar started"'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { ports: Record<string, number> }).ports);
    });
  });
}

describe("the bundled weft-sidecar, configured with a descriptor set", () => {
  it("answers reflection itself and reports the app's own health answers", async () => {
    const appPort = await appWithOwnHealth();
    const dir = tempDir();
    closers.push(dir.remove);
    const set = await writeDescriptorSet(join(dir.dir, "orders.binpb"));
    dir.write(
      "mesh.yaml",
      `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  rpcServices: [convert.v1.OrderService]
  conversion:
    descriptorSet: ${JSON.stringify(set)}
`,
    );
    const ports = await bundledSidecar([
      ...["--outbound", "127.0.0.1:0", "--inbound", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
      ...["--config", join(dir.dir, "mesh.yaml"), "--service", "orders", "--namespace", "shop"],
      ...["--app-port", String(appPort), "--app-protocol", "h2c"],
    ]);
    const inbound = ports.inbound as number;
    // The app has no reflection service: this list is the sidecar's.
    expect(await listed(reflectionClient(inbound))).toContain("convert.v1.OrderService");
    const health = healthClient(inbound);
    // The app's own view, which the sidecar (its port is open) would have said SERVING to.
    expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "convert.v1.OrderService" })).status).toBe(Status.SERVING);
    // The app has no Watch: the sidecar's follows the app's Check, so it agrees with it.
    const watch = health.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(Status.NOT_SERVING);
    await watch.return?.();
  }, 60_000);
});
