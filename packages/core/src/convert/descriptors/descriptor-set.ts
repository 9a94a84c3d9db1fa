import { type FileRegistry, fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { DescriptorError } from "./descriptor-error.ts";
import { registryFromFiles } from "./file-registry.ts";

/**
 * The registry of a FileDescriptorSet, binary (`buf build -o x.binpb`, `protoc
 * --descriptor_set_out --include_imports`) or JSON (`buf build -o x.json`). `origin` names the
 * file in errors.
 */
export function registryFromDescriptorSet(bytes: Uint8Array, origin: string): FileRegistry {
  if (bytes.length === 0) throw new DescriptorError(origin, "the file is empty, not a FileDescriptorSet");
  const set = isJson(bytes) ? parseJson(bytes, origin) : parseBinary(bytes, origin);
  if (set.file.length === 0) throw new DescriptorError(origin, "the FileDescriptorSet holds no files");
  return registryFromFiles(set.file, origin);
}

// A binary set starts with field 1 (tag 0x0a); `{` (0x7b) would be field 15 as a group, which a
// FileDescriptorSet never has, so the first non-blank byte tells the two apart.
function isJson(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b;
  }
  return false;
}

function parseBinary(bytes: Uint8Array, origin: string): FileDescriptorSet {
  let set: FileDescriptorSet;
  try {
    set = fromBinary(FileDescriptorSetSchema, bytes);
  } catch (e) {
    throw new DescriptorError(
      origin,
      `not a binary FileDescriptorSet (${(e as Error).message}); make one with \`buf build -o <file>.binpb\``,
      { cause: e },
    );
  }
  // Arbitrary bytes can decode as unknown fields only; a real set has named files.
  if (set.file.some((f) => !f.name)) {
    throw new DescriptorError(
      origin,
      "not a FileDescriptorSet: it holds a file without a name; make one with `buf build -o <file>.binpb`",
    );
  }
  return set;
}

function parseJson(bytes: Uint8Array, origin: string): FileDescriptorSet {
  try {
    // buf writes an Image: a FileDescriptorSet with its own extra fields, which are of no use here.
    return fromJsonString(FileDescriptorSetSchema, new TextDecoder().decode(bytes), {
      ignoreUnknownFields: true,
    });
  } catch (e) {
    throw new DescriptorError(origin, `not a JSON FileDescriptorSet: ${(e as Error).message}`, { cause: e });
  }
}
