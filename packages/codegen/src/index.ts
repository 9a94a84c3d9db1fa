// Public API of @weft/codegen: see README.md.
export { type CommandIo, genUsage, runGen } from "./cli/gen-command.ts";
export { ProtoCompileError } from "./generate/diagnostics.ts";
export { type GenerateOptions, generate } from "./generate/generate.ts";
export { shippedProtoDir } from "./generate/package-files.ts";
export { protocGenWeft } from "./plugin/protoc-gen-weft.ts";
