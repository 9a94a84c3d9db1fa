export * as grpcHealthV1 from "../../gen/grpc/health/v1/health_pb.js";
export * as grpcReflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
export * as grpcReflectionV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
export { DescriptorError } from "./descriptor-error.ts";
export { DescriptorIndex } from "./descriptor-index.ts";
export { registryFromDescriptorSet } from "./descriptor-set.ts";
export { registryFromFiles } from "./file-registry.ts";
export { type ReflectionAsk, type ReflectionQuery, registryFromReflection } from "./reflection.ts";
export { reflectionAnswer, reflectionService, reflectionServiceV1alpha } from "./reflection-answers.ts";
