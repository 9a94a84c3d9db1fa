import type { EndpointSet } from "./endpoint-set.ts";

/** Finds the endpoint set of a destination service. */
export interface EndpointDirectory {
  get(service: string, namespace: string): EndpointSet | undefined;
}

/** An EndpointDirectory kept in memory, fed by discovery (or by code in tests and examples). */
export class EndpointRegistry implements EndpointDirectory {
  // Namespace, then service: a lookup per call must not build a combined key string.
  readonly #namespaces = new Map<string, Map<string, EndpointSet>>();

  get(service: string, namespace: string): EndpointSet | undefined {
    return this.#namespaces.get(namespace)?.get(service);
  }

  /** Adds or replaces the set of `set.namespace/set.service`; the replaced set is closed. */
  set(set: EndpointSet): void {
    let services = this.#namespaces.get(set.namespace);
    if (!services) {
      services = new Map();
      this.#namespaces.set(set.namespace, services);
    }
    const old = services.get(set.service);
    if (old && old !== set) old.close();
    services.set(set.service, set);
  }

  /** Removes (and closes) the set of a service; false when there was none. */
  delete(service: string, namespace: string): boolean {
    const services = this.#namespaces.get(namespace);
    const old = services?.get(service);
    if (!services || !old) return false;
    old.close();
    services.delete(service);
    if (services.size === 0) this.#namespaces.delete(namespace);
    return true;
  }

  *values(): IterableIterator<EndpointSet> {
    for (const services of this.#namespaces.values()) yield* services.values();
  }
}
