import { grpcHealthV1 } from "@weft/core";

const { HealthCheckResponse_ServingStatus } = grpcHealthV1;
type HealthCheckResponse_ServingStatus = grpcHealthV1.HealthCheckResponse_ServingStatus;

/**
 * What the health protocol reports: SERVING for the whole server ("") and for each service
 * served while the mesh is ready, NOT_SERVING once it is not or has started closing.
 * Watchers wait on `changed()`; the mesh calls `notify()` when readiness may have moved.
 */
export class ServingState {
  readonly #ready: () => boolean;
  readonly #isServed: (service: string) => boolean;
  #closing = false;
  #waiters: (() => void)[] = [];

  constructor(ready: () => boolean, isServed: (service: string) => boolean) {
    this.#ready = ready;
    this.#isServed = isServed;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** The status of a service, or undefined when this mesh does not serve it. */
  statusOf(service: string): HealthCheckResponse_ServingStatus | undefined {
    if (service !== "" && !this.#isServed(service)) return undefined;
    return !this.#closing && this.#ready()
      ? HealthCheckResponse_ServingStatus.SERVING
      : HealthCheckResponse_ServingStatus.NOT_SERVING;
  }

  notify(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Every status is NOT_SERVING from now on. */
  close(): void {
    this.#closing = true;
    this.notify();
  }

  /** Resolves on the next notify() or when the signal aborts. */
  changed(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
