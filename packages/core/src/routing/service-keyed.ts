/**
 * Values kept per service, looked up by namespace and then name: a lookup per call must not
 * build (and hash) a combined key string.
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
}
