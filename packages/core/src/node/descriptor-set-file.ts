import { readFile } from "node:fs/promises";
import type { FileRegistry } from "@bufbuild/protobuf";
import { DescriptorError } from "../convert/descriptors/descriptor-error.ts";
import { registryFromDescriptorSet } from "../convert/descriptors/descriptor-set.ts";

/** Reads a descriptor set file (binary from `buf build -o x.binpb`, or JSON) into a FileRegistry. */
export async function loadDescriptorSetFile(path: string): Promise<FileRegistry> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory, not a file"
          : (e as Error).message;
    throw new DescriptorError(path, `cannot read the descriptor set: ${why}`, { cause: e });
  }
  return registryFromDescriptorSet(bytes, path);
}
