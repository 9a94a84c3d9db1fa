/**
 * Values kept per service, looked up by namespace and then name, as a call names its
 * destination: a lookup per call must not build (and hash) a combined key string.
 */
export class ServiceKeyed<T> {
  readonly #namespaces = new Map<string, Map<string, T>>();

  get(namespace: string, service: string): T | undefined {
    return this.#namespaces.get(namespace)?.get(service);
  }

  set(namespace: string, service: string, value: T): void {
    let services = this.#namespaces.get(namespace);
    if (!services) {
      services = new Map();
      this.#namespaces.set(namespace, services);
    }
    services.set(service, value);
  }

  /** Removes the value of a service; false when there was none. */
  delete(namespace: string, service: string): boolean {
    const services = this.#namespaces.get(namespace);
    if (!services?.delete(service)) return false;
    if (services.size === 0) this.#namespaces.delete(namespace);
    return true;
  }

  *values(): IterableIterator<T> {
    for (const services of this.#namespaces.values()) yield* services.values();
  }
}
