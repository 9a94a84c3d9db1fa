import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, type DescService, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const protoDir = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "proto");

/**
 * Compiles test/convert/fixtures/proto with buf (offline, no generated code) into a
 * FileDescriptorSet and loads it: the same descriptors a data plane gets from a descriptor
 * set file, with google.api.http kept as unknown fields of the method options.
 */
export function compileShop(): {
  registry: FileRegistry;
  shop: DescService;
  service(name: string): DescService;
} {
  const buf = createRequire(import.meta.url).resolve("@bufbuild/buf/bin/buf");
  const bytes = execFileSync(process.execPath, [buf, "build", protoDir, "-o", "-"], { maxBuffer: 16 << 20 });
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, new Uint8Array(bytes)));
  const shop = registry.getService("weft.convert.test.v1.Shop");
  if (!shop) throw new Error("weft.convert.test.v1.Shop is missing from the compiled fixtures");
  const service = (name: string): DescService => {
    const found = registry.getService(`weft.convert.test.v1.${name}`);
    if (!found) throw new Error(`weft.convert.test.v1.${name} is missing from the compiled fixtures`);
    return found;
  };
  return { registry, shop, service };
}
