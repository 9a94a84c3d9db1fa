/**
 * An AbortController for one attempt, aborted when its parent signal aborts. The object is
 * its own event listener, so linking costs no closure.
 */
export class LinkedAbort {
  readonly controller = new AbortController();
  readonly #parent: AbortSignal;
  #linked = false;

  constructor(parent: AbortSignal) {
    this.#parent = parent;
    if (parent.aborted) {
      this.controller.abort(parent.reason);
    } else {
      parent.addEventListener("abort", this, { once: true });
      this.#linked = true;
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** EventListenerObject: the parent aborted. */
  handleEvent(): void {
    this.#linked = false;
    this.controller.abort(this.#parent.reason);
  }

  /** Aborts this attempt only, leaving the parent alone. */
  abort(reason: unknown): void {
    this.unlink();
    this.controller.abort(reason);
  }

  /** Stops following the parent, so a finished attempt does not keep a listener on it. */
  unlink(): void {
    if (!this.#linked) return;
    this.#linked = false;
    this.#parent.removeEventListener("abort", this);
  }

  /** Bound once per instance for `settled.then(unlink, unlink)`. */
  readonly unlinkLater = (): void => this.unlink();
}
