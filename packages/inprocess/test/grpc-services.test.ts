import { fileURLToPath } from "node:url";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_descriptor,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { DescriptorIndex } from "@weft/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Mesh } from "../src/index.ts";
import { ECHO_RPC, echoReplica } from "./support/echo.ts";
import { anchorOf, testCa, workload } from "./support/pki.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/test/sa/${sa}`;
const HEALTH_PROTO = fileURLToPath(
  new URL("../../core/proto/vendor/grpc/health/v1/health.proto", import.meta.url),
);
// The reflection protocol as @grpc/reflection ships it: the client does not share our copy.
const REFLECTION_DIR = fileURLToPath(
  new URL("../../../node_modules/@grpc/reflection/build/proto", import.meta.url),
);
const LOAD = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

type Ctor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
function serviceCtor(definition: grpc.GrpcObject, path: string): Ctor {
  let node: unknown = definition;
  for (const part of path.split(".")) node = (node as Record<string, unknown>)[part];
  if (typeof node !== "function") throw new Error(`${path} is not a service in the loaded definition`);
  return node as Ctor;
}

const healthCtor = serviceCtor(
  grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO, LOAD)),
  "grpc.health.v1.Health",
);
const reflectionCtor = (version: "v1" | "v1alpha") =>
  serviceCtor(
    grpc.loadPackageDefinition(
      protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
        ...LOAD,
        includeDirs: [REFLECTION_DIR],
      }),
    ),
    `grpc.reflection.${version}.ServerReflection`,
  );

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
function unary<T>(client: grpc.Client, method: string, req: object): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) =>
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

interface ReflectionResponse {
  valid_host: string;
  message_response: string;
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
  error_response?: { error_code: number; error_message: string };
}

/** One request on a fresh ServerReflectionInfo stream, as grpcurl does per question. */
function reflect(client: grpc.Client, req: object): Promise<ReflectionResponse> {
  const stream = (
    client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> }
  ).ServerReflectionInfo();
  return new Promise((resolve, reject) => {
    stream.once("data", (res: ReflectionResponse) => {
      resolve(res);
      stream.end();
    });
    stream.once("error", reject);
    stream.write(req);
  });
}

describe("gRPC health and reflection from a real grpc-js client over mTLS", () => {
  const meshes: Mesh[] = [];
  const clients: grpc.Client[] = [];
  let credentials: grpc.ChannelCredentials;
  let address: string;

  const client = (ctor: Ctor, at = address) => {
    const c = new ctor(at, credentials);
    clients.push(c);
    return c;
  };
  const replica = async (options: Parameters<typeof echoReplica>[1]) => {
    const r = await echoReplica("r1", options);
    meshes.push(r.mesh);
    return r;
  };

  let ca: Awaited<ReturnType<typeof testCa>>;
  beforeAll(async () => {
    ca = await testCa();
    const caller = await workload(ca, ID("grpcurl"));
    credentials = grpc.credentials.createSsl(
      Buffer.from(anchorOf(ca)),
      Buffer.from(caller.key),
      Buffer.from(caller.chain),
      // Mesh certificates name a SPIFFE identity, not a host name; the chain is still verified.
      { checkServerIdentity: () => undefined },
    );
    const { port } = await replica({ credentials: await workload(ca, ID("echo")) });
    address = `127.0.0.1:${port}`;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    for (const m of meshes) await m.close({ graceMs: 0 });
  });

  it("answers Health/Check SERVING for the server and each served service, NOT_FOUND for others", async () => {
    const health = client(healthCtor);
    expect(await unary(health, "Check", { service: "" })).toEqual({ status: "SERVING" });
    expect(await unary(health, "Check", { service: ECHO_RPC })).toEqual({ status: "SERVING" });
    const err = await unary(health, "Check", { service: "orders.v1.Orders" }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((err as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    expect((err as grpc.ServiceError).details).toContain("orders.v1.Orders");
  });

  it("streams Health/Watch: SERVING, then NOT_SERVING once the mesh starts closing, then ends", async () => {
    const own = await replica({ credentials: await workload(ca, ID("echo")) });
    const health = client(healthCtor, `127.0.0.1:${own.port}`);
    const watch = (
      health as unknown as { Watch(req: object): grpc.ClientReadableStream<{ status: string }> }
    ).Watch({ service: ECHO_RPC });
    const seen: string[] = [];
    let closeMs = Number.NaN;
    const ended = new Promise<void>((resolve, reject) => {
      watch.on("data", (m: { status: string }) => {
        seen.push(m.status);
        if (m.status === "SERVING") {
          const started = performance.now();
          void own.mesh.close({ graceMs: 2_000 }).then(() => {
            closeMs = performance.now() - started;
          });
        }
      });
      watch.on("end", resolve);
      watch.on("error", reject);
    });
    await ended;
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    // The ended watch does not hold the close for its grace period.
    for (let i = 0; i < 100 && Number.isNaN(closeMs); i++) await new Promise((r) => setTimeout(r, 10));
    expect(closeMs).toBeLessThan(1_000);
    const unknown = client(healthCtor);
    const first = await new Promise<string>((resolve, reject) => {
      const s = (
        unknown as unknown as { Watch(req: object): grpc.ClientReadableStream<{ status: string }> }
      ).Watch({
        service: "orders.v1.Orders",
      });
      s.once("data", (m: { status: string }) => {
        resolve(m.status);
        s.cancel();
      });
      s.once("error", reject);
    });
    expect(first).toBe("SERVICE_UNKNOWN");
  });

  it("lists services and serves EchoService's descriptors, enough to call it knowing nothing else (grpcurl's path)", async () => {
    const reflection = client(reflectionCtor("v1"));
    const listed = await reflect(reflection, { host: address, list_services: "*" });
    expect(listed.valid_host).toBe(address);
    expect(listed.list_services_response?.service.map((s) => s.name).sort()).toEqual(
      [
        ECHO_RPC,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ].sort(),
    );

    const found = await reflect(reflection, { file_containing_symbol: ECHO_RPC });
    const files = (found.file_descriptor_response?.file_descriptor_proto ?? []).map((b) =>
      fromBinary(FileDescriptorProtoSchema, b),
    );
    expect(files[0]?.name).toBe("echo/v1/echo.proto");
    const echo = files[0]?.service.find((s) => s.name === "EchoService");
    expect(echo?.method.map((m) => m.name)).toEqual(["Say", "Create", "Count", "Collect", "Chat"]);
    // Every import of every file sent is in the answer too.
    const names = new Set(files.map((f) => f.name));
    for (const f of files) for (const d of f.dependency) expect(names).toContain(d);

    // A client built only from the reflected descriptors calls the service.
    const set = toBinary(
      FileDescriptorSetSchema,
      create(FileDescriptorSetSchema, { file: files as FileDescriptorProto[] }),
    );
    const defs = grpc.loadPackageDefinition(
      protoLoader.loadFileDescriptorSetFromBuffer(Buffer.from(set), LOAD),
    );
    const dynamic = client(serviceCtor(defs, ECHO_RPC));
    const said = await unary<{ text: string; replica: string }>(dynamic, "Say", {
      text: "found by reflection",
    });
    expect(said.text).toBe("found by reflection");
    expect(said.replica).toBe("r1");
  });

  it("finds files by name and by member symbol, and answers errors in the protocol", async () => {
    const reflection = client(reflectionCtor("v1"));
    const byName = await reflect(reflection, { file_by_filename: "echo/v1/echo.proto" });
    expect(byName.file_descriptor_response?.file_descriptor_proto.length).toBeGreaterThan(0);
    const byMethod = await reflect(reflection, { file_containing_symbol: `${ECHO_RPC}.Say` });
    const first = byMethod.file_descriptor_response?.file_descriptor_proto[0];
    expect(first && fromBinary(FileDescriptorProtoSchema, first).name).toBe("echo/v1/echo.proto");
    const message = await reflect(reflection, { file_containing_symbol: "echo.v1.SayRequest" });
    expect(message.message_response).toBe("file_descriptor_response");
    const missing = await reflect(reflection, { file_containing_symbol: "orders.v1.Orders" });
    expect(missing.error_response).toEqual({
      error_code: grpc.status.NOT_FOUND,
      error_message: "no symbol orders.v1.Orders among the descriptors this mesh serves",
    });
    const numbers = await reflect(reflection, { all_extension_numbers_of_type: "echo.v1.SayRequest" });
    expect(numbers.all_extension_numbers_response).toEqual({
      base_type_name: "echo.v1.SayRequest",
      extension_number: [],
    });
  });

  it("speaks reflection v1alpha too", async () => {
    const reflection = client(reflectionCtor("v1alpha"));
    const listed = await reflect(reflection, { list_services: "" });
    expect(listed.list_services_response?.service.map((s) => s.name)).toContain(ECHO_RPC);
    const found = await reflect(reflection, { file_containing_symbol: ECHO_RPC });
    const first = found.file_descriptor_response?.file_descriptor_proto[0];
    expect(first && fromBinary(FileDescriptorProtoSchema, first).name).toBe("echo/v1/echo.proto");
  });

  it("serves neither when the mesh opts out", async () => {
    const bare = await replica({
      credentials: await workload(ca, ID("echo")),
      grpcServices: { health: false, reflection: false },
    });
    const at = `127.0.0.1:${bare.port}`;
    const health = await unary(client(healthCtor, at), "Check", { service: "" }).catch((e) => e);
    expect((health as grpc.ServiceError).code).toBe(grpc.status.UNIMPLEMENTED);
    const reflection = await reflect(client(reflectionCtor("v1"), at), { list_services: "" }).catch((e) => e);
    expect((reflection as grpc.ServiceError).code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe("DescriptorIndex", () => {
  // shop.v1: a message with nested types and a Timestamp field, a service, and an extension
  // of google.protobuf.MethodOptions; it imports two files, one of which imports nothing.
  const shopProto = create(FileDescriptorProtoSchema, {
    name: "shop/v1/shop.proto",
    package: "shop.v1",
    syntax: "proto3",
    dependency: ["google/protobuf/timestamp.proto", "google/protobuf/descriptor.proto"],
    messageType: [
      {
        name: "Order",
        field: [
          {
            name: "placed",
            jsonName: "placed",
            number: 1,
            label: FieldDescriptorProto_Label.OPTIONAL,
            type: FieldDescriptorProto_Type.MESSAGE,
            typeName: ".google.protobuf.Timestamp",
          },
        ],
        nestedType: [{ name: "Line" }],
        enumType: [{ name: "State", value: [{ name: "STATE_UNSPECIFIED", number: 0 }] }],
      },
    ],
    service: [
      {
        name: "Shop",
        method: [{ name: "Place", inputType: ".shop.v1.Order", outputType: ".shop.v1.Order" }],
      },
    ],
    extension: [
      {
        name: "audited",
        jsonName: "audited",
        number: 50001,
        label: FieldDescriptorProto_Label.OPTIONAL,
        type: FieldDescriptorProto_Type.BOOL,
        extendee: ".google.protobuf.MethodOptions",
      },
    ],
  });
  const registry = createFileRegistry(shopProto, (name) =>
    name === "google/protobuf/timestamp.proto"
      ? file_google_protobuf_timestamp
      : name === "google/protobuf/descriptor.proto"
        ? file_google_protobuf_descriptor
        : undefined,
  );
  const shop = registry.getService("shop.v1.Shop");
  if (!shop) throw new Error("shop.v1.Shop did not build");
  const index = new DescriptorIndex();
  index.add(shop);
  const nameOf = (symbol: string) => index.fileContainingSymbol(symbol)?.proto.name;

  it("finds the file of every kind of symbol, members by their parent", () => {
    expect(index.serviceNames()).toEqual(["shop.v1.Shop"]);
    for (const symbol of [
      "shop.v1.Shop",
      ".shop.v1.Shop.Place",
      "shop.v1.Order",
      "shop.v1.Order.placed",
      "shop.v1.Order.Line",
      "shop.v1.Order.State",
      "shop.v1.Order.State.STATE_UNSPECIFIED",
      "shop.v1.audited",
    ]) {
      expect(nameOf(symbol), symbol).toBe("shop/v1/shop.proto");
    }
    expect(nameOf("google.protobuf.Timestamp")).toBe("google/protobuf/timestamp.proto");
    expect(nameOf("shop.v1.Refund")).toBeUndefined();
    expect(index.fileByName("google/protobuf/descriptor.proto")?.proto.package).toBe("google.protobuf");
  });

  it("sends a file with its dependencies, each once, and knows extensions by number", () => {
    const file = index.fileByName("shop/v1/shop.proto");
    if (!file) throw new Error("shop/v1/shop.proto not indexed");
    const sent = index.serializedWithDependencies(file).map((b) => fromBinary(FileDescriptorProtoSchema, b));
    expect(sent.map((f) => f.name)).toEqual([
      "shop/v1/shop.proto",
      "google/protobuf/timestamp.proto",
      "google/protobuf/descriptor.proto",
    ]);
    expect(sent[0]?.service[0]?.method[0]?.inputType).toBe(".shop.v1.Order");
    expect(index.fileContainingExtension("google.protobuf.MethodOptions", 50001)?.proto.name).toBe(
      "shop/v1/shop.proto",
    );
    expect(index.fileContainingExtension("google.protobuf.MethodOptions", 50002)).toBeUndefined();
    expect(index.extensionNumbers("google.protobuf.MethodOptions")).toEqual([50001]);
    expect(index.extensionNumbers("shop.v1.Order")).toEqual([]);
    expect(index.extensionNumbers("shop.v1.Refund")).toBeUndefined();
  });
});
