import { create, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { DescriptorError } from "./descriptor-error.ts";
import { isWellKnownFile, registryFromFiles } from "./file-registry.ts";

/**
 * One exchange on a ServerReflectionInfo stream: the server answers each request with one
 * response, in order (grpc.reflection.v1; v1alpha is the same on the wire).
 */
export type ReflectionAsk = (request: ServerReflectionRequest) => Promise<ServerReflectionResponse>;

export interface ReflectionQuery {
  /** The server, for errors ("127.0.0.1:50051"). */
  readonly origin: string;
  /** Services to describe; all the server lists when empty. */
  readonly services?: readonly string[];
  /** Sent as `host` on each request, for servers that serve several virtual hosts. */
  readonly host?: string;
  /** Most files fetched before giving up on a server that never stops naming imports (default 1000). */
  readonly maxFiles?: number;
}

/**
 * Asks a reflection server for its services (list_services) and the files that define them
 * (file_containing_symbol), then for any import it did not send along (file_by_filename),
 * and builds a registry. Well-known google/protobuf files the server does not have are filled
 * in locally.
 */
export async function registryFromReflection(
  ask: ReflectionAsk,
  query: ReflectionQuery,
): Promise<FileRegistry> {
  const { origin } = query;
  const host = query.host ?? "";
  const maxFiles = query.maxFiles ?? 1000;
  const request = async (
    messageRequest: ServerReflectionRequest["messageRequest"],
    what: string,
  ): Promise<ServerReflectionResponse["messageResponse"]> => {
    const res = await ask(create(ServerReflectionRequestSchema, { host, messageRequest }));
    if (res.messageResponse.case === "errorResponse") {
      const { errorCode, errorMessage } = res.messageResponse.value;
      throw new DescriptorError(
        origin,
        `reflection refused ${what}: ${errorMessage || "no message"} (gRPC code ${errorCode})`,
      );
    }
    return res.messageResponse;
  };
  let services = query.services ?? [];
  if (services.length === 0) {
    const listed = await request({ case: "listServices", value: "" }, "list_services");
    if (listed.case !== "listServicesResponse") throw unexpected(origin, "list_services", listed.case);
    services = listed.value.service.map((s) => s.name);
    if (services.length === 0) throw new DescriptorError(origin, "the reflection service lists no services");
  }
  const files = new Map<string, FileDescriptorProto>();
  const take = (answer: ServerReflectionResponse["messageResponse"], what: string) => {
    if (answer.case !== "fileDescriptorResponse") throw unexpected(origin, what, answer.case);
    for (const bytes of answer.value.fileDescriptorProto) {
      let file: FileDescriptorProto;
      try {
        file = fromBinary(FileDescriptorProtoSchema, bytes);
      } catch (e) {
        throw new DescriptorError(
          origin,
          `${what} answered a file descriptor that does not decode: ${(e as Error).message}`,
        );
      }
      if (!files.has(file.name)) files.set(file.name, file);
    }
    if (files.size > maxFiles) throw new DescriptorError(origin, `more than ${maxFiles} files; giving up`);
  };
  for (const symbol of services) {
    const what = `file_containing_symbol ${symbol}`;
    take(await request({ case: "fileContainingSymbol", value: symbol }, what), what);
  }
  // A server may answer only the file asked for: fetch imports until every one is here.
  const local = new Set<string>();
  for (;;) {
    const wanted = new Set<string>();
    for (const f of files.values())
      for (const dep of f.dependency) if (!files.has(dep) && !local.has(dep)) wanted.add(dep);
    if (wanted.size === 0) break;
    let fetched = 0;
    for (const name of wanted) {
      const what = `file_by_filename ${name}`;
      try {
        take(await request({ case: "fileByFilename", value: name }, what), what);
        fetched++;
      } catch (e) {
        // A server need not describe google/protobuf/*; the local copy stands in.
        if (!(e instanceof DescriptorError && isWellKnownFile(name))) throw e;
        local.add(name);
      }
    }
    if (fetched === 0) break;
  }
  return registryFromFiles([...files.values()], origin);
}

function unexpected(origin: string, what: string, got: string | undefined): DescriptorError {
  return new DescriptorError(origin, `${what} got an unexpected answer (${got ?? "empty"})`);
}
