import { type DescFile, type DescMessage, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * The descriptors of the services a mesh serves, indexed the way gRPC reflection asks for
 * them: by file name, by fully-qualified symbol, and by extension of a message.
 */
export class DescriptorIndex {
  readonly #services = new Map<string, DescService>();
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #extensions = new Map<string, Map<number, DescFile>>();
  readonly #serialized = new Map<DescFile, Uint8Array>();

  /** Adds a service, its file and every file that file depends on. */
  add(service: DescService): void {
    this.#services.set(service.typeName, service);
    this.#addFile(service.file);
  }

  /** Fully-qualified names of the services added, in the order they were added. */
  serviceNames(): string[] {
    return [...this.#services.keys()];
  }

  hasService(name: string): boolean {
    return this.#services.has(name);
  }

  fileByName(name: string): DescFile | undefined {
    return this.#files.get(name);
  }

  /** The file declaring a service, method, message, field, enum, enum value or extension. */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    const name = symbol.startsWith(".") ? symbol.slice(1) : symbol;
    const file = this.#symbols.get(name);
    if (file) return file;
    // A member (method, field, enum value) is named after its parent.
    const dot = name.lastIndexOf(".");
    return dot > 0 ? this.#symbols.get(name.slice(0, dot)) : undefined;
  }

  fileContainingExtension(extendee: string, number: number): DescFile | undefined {
    return this.#extensions.get(extendee)?.get(number);
  }

  /** Extension numbers known for a message, or undefined when the message is unknown. */
  extensionNumbers(extendee: string): number[] | undefined {
    if (!this.#symbols.has(extendee)) return undefined;
    return [...(this.#extensions.get(extendee)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The FileDescriptorProto of a file, then of each file it depends on, transitively, each once. */
  serializedWithDependencies(file: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<DescFile>();
    const visit = (f: DescFile) => {
      if (seen.has(f)) return;
      seen.add(f);
      out.push(this.#serializedFile(f));
      for (const d of f.dependencies) visit(d);
    };
    visit(file);
    return out;
  }

  #serializedFile(file: DescFile): Uint8Array {
    let bytes = this.#serialized.get(file);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#serialized.set(file, bytes);
    }
    return bytes;
  }

  #addFile(file: DescFile): void {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    for (const s of file.services) {
      this.#symbols.set(s.typeName, file);
    }
    for (const e of file.enums) this.#symbols.set(e.typeName, file);
    for (const m of file.messages) this.#addMessage(file, m);
    for (const x of file.extensions) this.#addExtension(file, x.typeName, x.extendee.typeName, x.number);
    for (const d of file.dependencies) this.#addFile(d);
  }

  #addMessage(file: DescFile, message: DescMessage): void {
    this.#symbols.set(message.typeName, file);
    for (const e of message.nestedEnums) this.#symbols.set(e.typeName, file);
    for (const m of message.nestedMessages) this.#addMessage(file, m);
    for (const x of message.nestedExtensions) {
      this.#addExtension(file, x.typeName, x.extendee.typeName, x.number);
    }
  }

  #addExtension(file: DescFile, typeName: string, extendee: string, number: number): void {
    this.#symbols.set(typeName, file);
    let byNumber = this.#extensions.get(extendee);
    if (!byNumber) {
      byNumber = new Map();
      this.#extensions.set(extendee, byNumber);
    }
    byNumber.set(number, file);
  }
}
