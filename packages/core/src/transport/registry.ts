import type { MeshCredentials } from "./credentials.ts";
import { H2cTransport } from "./h2c.ts";
import { MemoryTransport, type MemoryTransportOptions } from "./memory.ts";
import { MtlsH2Transport } from "./mtls-h2.ts";
import type { Transport } from "./transport.ts";

/** Makes a transport from its options (credentials for mtls-h2, a network for memory, ...). */
export type TransportFactory<O> = (options: O) => Transport;

/** Transports by name, so configuration can choose one and users can add their own. */
export class TransportRegistry {
  readonly #factories = new Map<string, TransportFactory<never>>();

  register<O>(name: string, factory: TransportFactory<O>): this {
    if (this.#factories.has(name)) throw new Error(`a transport named "${name}" is already registered`);
    this.#factories.set(name, factory as TransportFactory<never>);
    return this;
  }

  has(name: string): boolean {
    return this.#factories.has(name);
  }

  names(): string[] {
    return [...this.#factories.keys()];
  }

  create<O>(name: string, options: O): Transport {
    const factory = this.#factories.get(name) as TransportFactory<O> | undefined;
    if (!factory) {
      throw new Error(`no transport named "${name}" (registered: ${this.names().join(", ") || "none"})`);
    }
    return factory(options);
  }
}

/** A registry holding the built-in transports: mtls-h2, h2c and memory. */
export function builtinTransports(): TransportRegistry {
  return new TransportRegistry()
    .register("mtls-h2", (credentials: MeshCredentials) => new MtlsH2Transport(credentials))
    .register("h2c", () => new H2cTransport())
    .register("memory", (options: MemoryTransportOptions | undefined) => new MemoryTransport(options));
}
