/**
 * An unbounded single-consumer queue that is also an AsyncIterable: the bridge between
 * "something happened" callbacks and the async iterables Connect streams read and write.
 * Ends when closed (after draining) or throws once failed.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((e: unknown) => void) | undefined;
  private closed = false;
  private error: { reason: unknown } | undefined;

  push(item: T): void {
    if (this.closed) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: item, done: false });
      return;
    }
    this.items.push(item);
  }

  /** No more items; the consumer still drains what is queued. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const w = this.waiter;
    if (w && this.items.length === 0) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Ends the consumer with an error, dropping what is queued. */
  fail(reason: unknown): void {
    if (this.closed && this.error) return;
    this.closed = true;
    this.error = { reason };
    this.items.length = 0;
    const f = this.failWaiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    f?.(reason);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.error) return Promise.reject(this.error.reason);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          this.waiter = resolve;
          this.failWaiter = reject;
        });
      },
      return: () => {
        this.close();
        this.items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      // Connect aborts a stream by throwing into the iterable it writes from.
      throw: (reason: unknown) => {
        this.close();
        this.items.length = 0;
        return Promise.reject(reason);
      },
    };
  }
}
