const ONCE = { once: true } as const;

/** What can be watched for an abort without making an AbortSignal: a Cancellation. */
export interface AbortWatch {
  readonly aborted: boolean;
  readonly reason: unknown;
  onAbort(listener: (reason: unknown) => void): void;
  offAbort(listener: (reason: unknown) => void): void;
}

/**
 * What a wait or a request can be cut short by: an AbortSignal, or a call's Cancellation,
 * which is watched through the call's tree (no AbortController, no listener per step).
 */
export type Canceller = AbortSignal | AbortWatch;

/** Calls `listener` once when `canceller` aborts; returns what stops watching. */
export function watchAbort(canceller: Canceller, listener: (reason: unknown) => void): () => void {
  if (canceller instanceof AbortSignal) {
    const onAbort = () => listener(canceller.reason);
    canceller.addEventListener("abort", onAbort, ONCE);
    return () => canceller.removeEventListener("abort", onAbort);
  }
  canceller.onAbort(listener);
  return () => canceller.offAbort(listener);
}

/**
 * How a call and its attempts are cancelled: a tree of cheap nodes instead of an
 * AbortController (and an event listener on its parent) per link.
 *
 * A call has a root that follows the caller's AbortSignal. Steps take a `child()` for
 * what they may cancel on their own (a deadline, an attempt, a losing hedge) and `abort`
 * it; aborting a node aborts its subtree, never its parent. A node learns of its
 * ancestors' abort when read (`aborted`, `reason`), and is told of it (its `signal`, its
 * `onAbort` listeners) only once something asked to be told: an AbortSignal is made when
 * `signal` is first read, and only then is the node linked into its parent (an array
 * entry) and the root onto the caller's signal (one event listener per call). A call no
 * transport watches costs no AbortController at all.
 *
 * `release()` a child when what it guards is over (an attempt's response settled): it
 * stops following its parent, and a root nobody follows any more takes its listener off
 * the caller's signal, so a long-lived caller signal does not collect one per call.
 */
export class Cancellation implements AbortWatch {
  readonly #parent: Cancellation | undefined;
  /** The caller's signal, for a root. */
  readonly #source: AbortSignal | undefined;
  #aborted = false;
  #reason: unknown = undefined;
  #controller: AbortController | undefined = undefined;
  #listeners: ((reason: unknown) => void)[] | undefined = undefined;
  /** Children that asked to be told (they follow this node). */
  #children: Cancellation[] | undefined = undefined;
  /** Linked into the parent's children, or (a root) listening on the source. */
  #following = false;
  #released = false;
  #releaseLater: (() => void) | undefined = undefined;

  private constructor(parent: Cancellation | undefined, source: AbortSignal | undefined) {
    this.#parent = parent;
    this.#source = source;
  }

  /**
   * The root of a call, following the caller's signal (or nothing). A root cannot be
   * aborted itself: only the caller can end the call; steps abort children.
   */
  static follow(source?: AbortSignal): Cancellation {
    return new Cancellation(undefined, source);
  }

  /** A node cancelled with this one, and on its own by `abort`. */
  child(): Cancellation {
    return new Cancellation(this, undefined);
  }

  get aborted(): boolean {
    if (this.#aborted) return true;
    if (this.#released) return false;
    const parent = this.#parent;
    if (parent !== undefined) {
      if (!parent.aborted) return false;
      this.#aborted = true;
      this.#reason = parent.reason;
      return true;
    }
    return this.#source?.aborted === true;
  }

  /** Why it was aborted; undefined while it is not. */
  get reason(): unknown {
    if (this.#parent === undefined) return this.#source?.aborted ? this.#source.reason : undefined;
    return this.aborted ? this.#reason : undefined;
  }

  /**
   * An AbortSignal that aborts with this node, made on first read. A root's is the
   * caller's own signal (a root is never aborted otherwise), or one that never aborts.
   */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      if (this.#parent === undefined && this.#source !== undefined) return this.#source;
      controller = new AbortController();
      this.#controller = controller;
      if (this.aborted) controller.abort(this.#reason);
      else if (this.#parent !== undefined) this.#follow();
    }
    return controller.signal;
  }

  /** Aborts this node and its subtree (not its parent). Later calls do nothing. */
  abort(reason: unknown = new DOMException("This operation was aborted", "AbortError")): void {
    if (this.#parent === undefined) {
      throw new TypeError("a call's root cancellation follows the caller's signal; abort a child() of it");
    }
    if (this.aborted) return;
    this.#unfollow();
    this.#fire(reason);
  }

  /** Calls `listener` once, when the node aborts (at once when it already has). */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.aborted) {
      listener(this.reason);
      return;
    }
    if (this.#listeners === undefined) this.#listeners = [listener];
    else this.#listeners.push(listener);
    this.#follow();
  }

  /** Removes a listener added with `onAbort`. */
  offAbort(listener: (reason: unknown) => void): void {
    const listeners = this.#listeners;
    if (listeners === undefined || !removeFrom(listeners, listener)) return;
    this.#unfollowIfUnwatched();
  }

  /** Stops following the parent: the work this node guards is over. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#unfollow();
  }

  /** Bound once per node, for `settled.then(node.releaseLater, node.releaseLater)`. */
  get releaseLater(): () => void {
    if (this.#releaseLater === undefined) this.#releaseLater = () => this.release();
    return this.#releaseLater;
  }

  /** EventListenerObject of a root: the caller's signal aborted. */
  handleEvent(): void {
    this.#following = false;
    this.#fire(this.#source?.reason);
  }

  #follow(): void {
    if (this.#following || this.#released) return;
    const parent = this.#parent;
    if (parent === undefined) {
      if (this.#source === undefined) return;
      this.#following = true;
      this.#source.addEventListener("abort", this, ONCE);
      return;
    }
    this.#following = true;
    if (parent.#children === undefined) parent.#children = [this];
    else parent.#children.push(this);
    parent.#follow();
  }

  #unfollow(): void {
    if (!this.#following) return;
    this.#following = false;
    const parent = this.#parent;
    if (parent === undefined) {
      this.#source?.removeEventListener("abort", this);
      return;
    }
    const siblings = parent.#children;
    if (siblings !== undefined && removeFrom(siblings, this)) parent.#unfollowIfUnwatched();
  }

  /** Nothing below asks to be told any more (a child's signal may be held by anyone: it stays). */
  #unfollowIfUnwatched(): void {
    if (this.#children?.length || this.#listeners?.length) return;
    if (this.#controller !== undefined && !this.#released) return;
    this.#unfollow();
  }

  #fire(reason: unknown): void {
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) notify(listener, reason);
    const children = this.#children;
    this.#children = undefined;
    if (children === undefined) return;
    for (const child of children) {
      child.#following = false;
      if (!child.#aborted) child.#fire(reason);
    }
  }
}

/** Removes one occurrence of `x` (order is not kept); true when it was there. */
function removeFrom<T>(xs: T[], x: T): boolean {
  const i = xs.indexOf(x);
  if (i < 0) return false;
  const last = xs.pop() as T;
  if (i < xs.length) xs[i] = last;
  return true;
}

/** A listener that throws must not stop the others, nor the subtree, from being told. */
function notify(listener: (reason: unknown) => void, reason: unknown): void {
  try {
    listener(reason);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
