const ONCE = { once: true } as const;

/**
 * `call.attributes` key: the LinkedAbort whose signal the timeout step put on the call, so
 * the steps inside it can link attempts to it directly instead of through an event listener.
 */
export const CALL_LINK = Symbol.for("weft.resilience.callLink");

/**
 * An AbortController for one attempt, aborted when its parent signal aborts. The object is
 * its own event listener, so linking costs no closure.
 *
 * When the parent signal is another LinkedAbort's (given as `parentLink`, e.g. the one
 * under CALL_LINK), the link is a plain array entry on that LinkedAbort instead of an
 * event listener: adding and removing a listener is most of what a link costs, per call.
 * The parent's own listeners still run first when it aborts, then its children abort.
 */
export class LinkedAbort {
  readonly controller = new AbortController();
  readonly #parent: AbortSignal;
  #parentLink: LinkedAbort | undefined;
  #children: LinkedAbort[] | undefined;
  #linked = false;

  constructor(parent: AbortSignal, parentLink?: LinkedAbort) {
    this.#parent = parent;
    if (parent.aborted) {
      this.controller.abort(parent.reason);
      return;
    }
    if (parentLink !== undefined && parentLink.controller.signal === parent) {
      if (parentLink.#children === undefined) parentLink.#children = [this];
      else parentLink.#children.push(this);
      this.#parentLink = parentLink;
    } else {
      parent.addEventListener("abort", this, ONCE);
    }
    this.#linked = true;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** EventListenerObject: the parent aborted. */
  handleEvent(): void {
    this.#linked = false;
    this.#parentLink = undefined;
    this.#abortAll(this.#parent.reason);
  }

  /** Aborts this attempt only, leaving the parent alone. */
  abort(reason: unknown): void {
    this.unlink();
    this.#abortAll(reason);
  }

  /** Stops following the parent, so a finished attempt does not keep a listener on it. */
  unlink(): void {
    if (!this.#linked) return;
    this.#linked = false;
    const parentLink = this.#parentLink;
    if (parentLink === undefined) {
      this.#parent.removeEventListener("abort", this);
      return;
    }
    this.#parentLink = undefined;
    const siblings = parentLink.#children;
    if (siblings === undefined) return;
    const i = siblings.indexOf(this);
    if (i < 0) return;
    const last = siblings.pop() as LinkedAbort;
    if (last !== this) siblings[i] = last;
  }

  /** Bound once per instance for `settled.then(unlink, unlink)`. */
  readonly unlinkLater = (): void => this.unlink();

  #abortAll(reason: unknown): void {
    this.controller.abort(reason);
    const children = this.#children;
    if (children === undefined) return;
    this.#children = undefined;
    for (const child of children) {
      if (child.#linked) child.handleEvent();
    }
  }
}
