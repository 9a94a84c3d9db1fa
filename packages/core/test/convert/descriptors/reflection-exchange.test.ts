import { execFileSync } from "node:child_process";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { type ReflectionAsk, registryFromReflection } from "../../../src/convert/descriptors/reflection.ts";
import {
  type ServerReflectionRequest,
  ServerReflectionResponseSchema,
} from "../../../src/gen/grpc/reflection/v1/reflection_pb.js";

const FIXTURES = new URL("./fixtures", import.meta.url).pathname;
const BUF = new URL("../../../../../node_modules/.bin/buf", import.meta.url).pathname;
// protoc-style descriptors of the fixtures, one file each, as a C++ or Go server would answer.
const set = fromBinary(
  FileDescriptorSetSchema,
  execFileSync(BUF, ["build", FIXTURES, "-o", "-#format=binpb", "--exclude-imports"]),
);
const fileBytes = new Map(set.file.map((f) => [f.name, toBinary(FileDescriptorProtoSchema, f)]));

/** A server that answers only the file asked for (never its imports), recording each request. */
function scriptedServer(files: ReadonlyMap<string, Uint8Array>) {
  const asked: string[] = [];
  const answer = (
    messageResponse: MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"],
  ) => create(ServerReflectionResponseSchema, { messageResponse });
  const ask: ReflectionAsk = async (req: ServerReflectionRequest) => {
    const r = req.messageRequest;
    asked.push(`${r.case}:${r.value}`);
    if (r.case === "listServices")
      return answer({ case: "listServicesResponse", value: { service: [{ name: "shop.v1.Orders" }] } });
    const name =
      r.case === "fileContainingSymbol" && r.value === "shop.v1.Orders" ? "shop/v1/orders.proto" : r.value;
    const bytes = typeof name === "string" ? files.get(name) : undefined;
    if (!bytes)
      return answer({ case: "errorResponse", value: { errorCode: 5, errorMessage: `${name} not found` } });
    return answer({ case: "fileDescriptorResponse", value: { fileDescriptorProto: [bytes] } });
  };
  return { ask, asked };
}

describe("registryFromReflection over a scripted exchange", () => {
  it("fetches imports one by one; google/protobuf files the server lacks come from the local copy", async () => {
    const server = scriptedServer(fileBytes);
    const registry = await registryFromReflection(server.ask, { origin: "srv" });
    expect(server.asked).toEqual([
      "listServices:",
      "fileContainingSymbol:shop.v1.Orders",
      "fileByFilename:google/protobuf/timestamp.proto",
      "fileByFilename:shop/v1/money.proto",
    ]);
    const timestamp = registry.getMessage("shop.v1.Order")?.field.placedAt?.message;
    expect(timestamp?.typeName).toBe("google.protobuf.Timestamp");
    expect(timestamp?.file.proto).toBe(file_google_protobuf_timestamp.proto);
  });

  it("an import the server cannot give is an error naming it", async () => {
    const files = new Map(fileBytes);
    files.delete("shop/v1/money.proto");
    const err = await registryFromReflection(scriptedServer(files).ask, { origin: "srv" }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe(
      "srv: reflection refused file_by_filename shop/v1/money.proto: shop/v1/money.proto not found (gRPC code 5)",
    );
  });

  it("an answer of the wrong kind is an error", async () => {
    const ask: ReflectionAsk = async () =>
      create(ServerReflectionResponseSchema, {
        messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: [] } },
      });
    await expect(registryFromReflection(ask, { origin: "srv" })).rejects.toThrow(
      "srv: list_services got an unexpected answer (fileDescriptorResponse)",
    );
  });
});
