export { DescriptorError } from "./descriptor-error.ts";
export { registryFromDescriptorSet } from "./descriptor-set.ts";
export { registryFromFiles } from "./file-registry.ts";
export { type ReflectionAsk, type ReflectionQuery, registryFromReflection } from "./reflection.ts";
