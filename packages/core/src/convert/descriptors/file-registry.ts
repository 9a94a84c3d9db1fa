import type { DescFile } from "@bufbuild/protobuf";
import { create, createFileRegistry, type FileRegistry } from "@bufbuild/protobuf";
import * as wkt from "@bufbuild/protobuf/wkt";
import {
  type DescriptorProto,
  type FileDescriptorProto,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { DescriptorError } from "./descriptor-error.ts";
import { qualifyTypeNames } from "./qualify-names.ts";

// Sets built with `--exclude-imports` and servers that leave out google/protobuf/* still load:
// these files are the same everywhere, and @bufbuild/protobuf carries them.
const WELL_KNOWN = new Map(
  Object.entries(wkt)
    .filter(([name]) => name.startsWith("file_google_protobuf_"))
    .map(([, f]) => [(f as DescFile).proto.name, (f as DescFile).proto]),
);

/** True when `name` is a well-known file that loads without being in a set. */
export function isWellKnownFile(name: string): boolean {
  return WELL_KNOWN.has(name);
}

/**
 * A registry from file descriptors in any order (reflection answers them as asked), each
 * after its imports. Every missing import is named at once, with the file that imports it.
 */
export function registryFromFiles(files: readonly FileDescriptorProto[], origin: string): FileRegistry {
  const byName = new Map<string, FileDescriptorProto>();
  for (const [i, f] of files.entries()) {
    if (!f.name) throw new DescriptorError(origin, `file descriptor #${i + 1} has no name`);
    byName.set(f.name, f);
  }
  useLocalWellKnownTypes(byName);
  for (const f of byName.values()) for (const m of f.messageType) fillJsonNames(m);
  qualifyTypeNames([...byName.values()], [...WELL_KNOWN.values()]);
  const missing: string[] = [];
  for (const f of byName.values()) {
    for (const dep of f.dependency) {
      if (!byName.has(dep) && !WELL_KNOWN.has(dep)) missing.push(`${dep} (imported by ${f.name})`);
    }
  }
  if (missing.length > 0) {
    throw new DescriptorError(
      origin,
      `missing imported file${missing.length === 1 ? "" : "s"} ${missing.join(", ")}; a descriptor set must hold every import (build it without --exclude-imports)`,
    );
  }
  const ordered: FileDescriptorProto[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: readonly string[]) => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") throw new DescriptorError(origin, `import cycle ${[...path, name].join(" -> ")}`);
    state.set(name, "visiting");
    const f = byName.get(name) ?? (WELL_KNOWN.get(name) as FileDescriptorProto);
    for (const dep of f.dependency) visit(dep, [...path, name]);
    state.set(name, "done");
    ordered.push(f);
  };
  for (const name of byName.keys()) visit(name, []);
  try {
    return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
  } catch (e) {
    throw new DescriptorError(origin, `invalid descriptors: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * @grpc/reflection (over proto-loader) answers one synthesized file per package, so every
 * google.protobuf type arrives in one "google_protobuf.proto", which can even import a file
 * that imports it back (google.api's annotations extend MethodOptions). Those types are the
 * same everywhere: such a file is dropped and its importers import the local well-known files.
 */
function useLocalWellKnownTypes(byName: Map<string, FileDescriptorProto>): void {
  const replaced = new Set<string>();
  for (const [name, f] of byName) {
    if (f.package === "google.protobuf" && !WELL_KNOWN.has(name)) replaced.add(name);
  }
  if (replaced.size === 0) return;
  for (const name of replaced) byName.delete(name);
  for (const f of byName.values()) {
    if (!f.dependency.some((d) => replaced.has(d))) continue;
    const deps = f.dependency.filter((d) => !replaced.has(d));
    for (const wk of WELL_KNOWN.keys()) if (!deps.includes(wk)) deps.push(wk);
    f.dependency = deps;
  }
}

/**
 * protoc always fills json_name and @bufbuild/protobuf takes it as given; protobufjs (behind
 * grpc-js's reflection) leaves it empty, which would name every field "" in JSON. Fill it
 * as protoc does: the field name with each "_x" made "X".
 */
function fillJsonNames(m: DescriptorProto): void {
  for (const field of m.field) {
    if (field.jsonName === "")
      field.jsonName = field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  }
  for (const nested of m.nestedType) fillJsonNames(nested);
}
