import { ServiceKeyed } from "../call/service-keyed.ts";
import type { EndpointSet } from "./endpoint-set.ts";

/** Finds the endpoint set of a destination service. */
export interface EndpointDirectory {
  get(service: string, namespace: string): EndpointSet | undefined;
}

/** An EndpointDirectory kept in memory, fed by discovery (or by code in tests and examples). */
export class EndpointRegistry implements EndpointDirectory {
  readonly #sets = new ServiceKeyed<EndpointSet>();

  get(service: string, namespace: string): EndpointSet | undefined {
    return this.#sets.get(namespace, service);
  }

  /** Adds or replaces the set of `set.namespace/set.service`; the replaced set is closed. */
  set(set: EndpointSet): void {
    const old = this.#sets.get(set.namespace, set.service);
    if (old && old !== set) old.close();
    this.#sets.set(set.namespace, set.service, set);
  }

  /** Removes (and closes) the set of a service; false when there was none. */
  delete(service: string, namespace: string): boolean {
    const old = this.#sets.get(namespace, service);
    if (!old) return false;
    old.close();
    return this.#sets.delete(namespace, service);
  }

  values(): IterableIterator<EndpointSet> {
    return this.#sets.values();
  }
}
