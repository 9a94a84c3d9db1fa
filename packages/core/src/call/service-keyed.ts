/**
 * Values kept per service, looked up by namespace and then name, as a call names its
 * destination: a lookup per call must not build (and hash) a combined key string.
 */
export class ServiceKeyed<T> {
  readonly #namespaces = new Map<string, Map<string, T>>();
  // The last hit: a data plane mostly calls one service, and comparing two strings (the same
  // objects, usually) is cheaper than hashing them into two maps.
  #lastNamespace: string | undefined = undefined;
  #lastService: string | undefined = undefined;
  #lastValue: T | undefined = undefined;

  get(namespace: string, service: string): T | undefined {
    if (service === this.#lastService && namespace === this.#lastNamespace) return this.#lastValue;
    const value = this.#namespaces.get(namespace)?.get(service);
    if (value !== undefined) {
      this.#lastNamespace = namespace;
      this.#lastService = service;
      this.#lastValue = value;
    }
    return value;
  }

  set(namespace: string, service: string, value: T): void {
    this.#forgetLast();
    let services = this.#namespaces.get(namespace);
    if (!services) {
      services = new Map();
      this.#namespaces.set(namespace, services);
    }
    services.set(service, value);
  }

  /** Removes the value of a service; false when there was none. */
  delete(namespace: string, service: string): boolean {
    this.#forgetLast();
    const services = this.#namespaces.get(namespace);
    if (!services?.delete(service)) return false;
    if (services.size === 0) this.#namespaces.delete(namespace);
    return true;
  }

  *values(): IterableIterator<T> {
    for (const services of this.#namespaces.values()) yield* services.values();
  }

  #forgetLast(): void {
    this.#lastNamespace = this.#lastService = this.#lastValue = undefined;
  }
}
