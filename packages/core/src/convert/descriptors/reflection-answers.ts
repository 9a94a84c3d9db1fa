import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  type ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { DescriptorIndex } from "./descriptor-index.ts";

type Answer = MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"];

/**
 * grpc.reflection.v1.ServerReflection over an index of descriptors: what the in-process mesh
 * serves, and what a sidecar answers for an app whose descriptors it was given.
 */
export function reflectionService(index: DescriptorIndex): ServiceImpl<typeof ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield reflectionAnswer(index, req);
    },
  };
}

/**
 * The v1alpha protocol, still what many clients ask for first. Its messages are v1's, field
 * for field, so requests and answers cross over by their (identical) wire form.
 */
export function reflectionServiceV1alpha(
  index: DescriptorIndex,
): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        const asV1 = fromBinary(
          ServerReflectionRequestSchema,
          toBinary(v1alpha.ServerReflectionRequestSchema, req),
        );
        yield fromBinary(
          v1alpha.ServerReflectionResponseSchema,
          toBinary(ServerReflectionResponseSchema, reflectionAnswer(index, asV1)),
        );
      }
    },
  };
}

/** The answer to one ServerReflectionInfo request; an unknown name is a NOT_FOUND error response. */
export function reflectionAnswer(
  index: DescriptorIndex,
  req: ServerReflectionRequest,
): ServerReflectionResponse {
  return create(ServerReflectionResponseSchema, {
    validHost: req.host,
    originalRequest: req,
    messageResponse: answer(index, req.messageRequest),
  });
}

function answer(index: DescriptorIndex, request: ServerReflectionRequest["messageRequest"]): Answer {
  switch (request.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.serviceNames().map((name) => ({ name })) },
      };
    case "fileByFilename": {
      const file = index.fileByName(request.value);
      return file
        ? files(index.serializedWithDependencies(file))
        : notFound(`no file named ${request.value} among the descriptors this mesh serves`);
    }
    case "fileContainingSymbol": {
      const file = index.fileContainingSymbol(request.value);
      return file
        ? files(index.serializedWithDependencies(file))
        : notFound(`no symbol ${request.value} among the descriptors this mesh serves`);
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = request.value;
      const file = index.fileContainingExtension(containingType, extensionNumber);
      return file
        ? files(index.serializedWithDependencies(file))
        : notFound(
            `no extension ${extensionNumber} of ${containingType} among the descriptors this mesh serves`,
          );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(request.value);
      return numbers
        ? {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: request.value, extensionNumber: numbers },
          }
        : notFound(`no message ${request.value} among the descriptors this mesh serves`);
    }
    default:
      return {
        case: "errorResponse",
        value: { errorCode: Code.InvalidArgument, errorMessage: "the reflection request asks for nothing" },
      };
  }
}

function files(fileDescriptorProto: Uint8Array[]): Answer {
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

function notFound(errorMessage: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage } };
}
