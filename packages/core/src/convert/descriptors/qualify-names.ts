import {
  type DescriptorProto,
  FieldDescriptorProto_Type as FieldType,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";

interface Declared {
  readonly kind: FieldType;
  readonly file: string;
}

/**
 * Makes every type reference of `files` fully qualified (".pkg.Msg") and lists the file that
 * declares it among the importer's dependencies, in place. protoc always writes descriptors so;
 * protobufjs (behind @grpc/proto-loader, and so grpc-js reflection) writes names as in the
 * .proto source ("Money") and files without imports, which @bufbuild/protobuf rejects. A
 * relative name is resolved the way protoc does: innermost scope first, then each enclosing
 * one. `known` are files that may be referred to but are not changed (well-known types).
 */
export function qualifyTypeNames(
  files: readonly FileDescriptorProto[],
  known: readonly FileDescriptorProto[],
): void {
  const declared = new Map<string, Declared>();
  const addMessages = (file: string, scope: string, messages: readonly DescriptorProto[]) => {
    for (const m of messages) {
      const name = `${scope}.${m.name}`;
      declared.set(name, { kind: FieldType.MESSAGE, file });
      for (const e of m.enumType) declared.set(`${name}.${e.name}`, { kind: FieldType.ENUM, file });
      addMessages(file, name, m.nestedType);
    }
  };
  // Files of the set last, so their declarations win over a well-known copy.
  for (const f of [...known, ...files]) {
    const scope = f.package ? `.${f.package}` : "";
    for (const e of f.enumType) declared.set(`${scope}.${e.name}`, { kind: FieldType.ENUM, file: f.name });
    addMessages(f.name, scope, f.messageType);
  }
  for (const f of files) {
    const lookup = (name: string, scope: string): { name: string; found?: Declared } => {
      if (name === "") return { name };
      let hit: { name: string; found?: Declared } = { name };
      if (name.startsWith(".")) hit = { name, found: declared.get(name) };
      else {
        for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf(".")))) {
          const found = declared.get(`${s}.${name}`);
          if (found) {
            hit = { name: `${s}.${name}`, found };
            break;
          }
          if (s === "") break;
        }
      }
      const owner = hit.found?.file;
      if (owner && owner !== f.name && !f.dependency.includes(owner)) f.dependency.push(owner);
      return hit;
    };
    const fixMessages = (scope: string, messages: readonly DescriptorProto[]) => {
      for (const m of messages) {
        const inner = `${scope}.${m.name}`;
        for (const field of [...m.field, ...m.extension]) {
          const t = lookup(field.typeName, inner);
          field.typeName = t.name;
          if (!field.type && t.found) field.type = t.found.kind;
          field.extendee = lookup(field.extendee, inner).name;
        }
        fixMessages(inner, m.nestedType);
      }
    };
    const scope = f.package ? `.${f.package}` : "";
    fixMessages(scope, f.messageType);
    for (const x of f.extension) {
      x.typeName = lookup(x.typeName, scope).name;
      x.extendee = lookup(x.extendee, scope).name;
    }
    for (const s of f.service) {
      for (const m of s.method) {
        m.inputType = lookup(m.inputType, scope).name;
        m.outputType = lookup(m.outputType, scope).name;
      }
    }
  }
}
