const ONCE = { once: true } as const;

type Listener = (reason: unknown) => void;

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
 * ancestors' abort when read (`aborted`, `reason`); what asked to be told (`onAbort`, or
 * `signal`, an AbortSignal made on first read) is kept in one list at the root, which
 * listens on the caller's signal only while that list is not empty: one listener per call,
 * whatever the depth, and none for a call nobody watches.
 *
 * `release()` a child when what it guards is over (an attempt's response settled): what
 * its subtree asked to be told is forgotten, so a long-lived caller signal does not collect
 * a listener per call.
 */
export class Cancellation implements AbortWatch {
  readonly #parent: Cancellation | undefined;
  readonly #root: Cancellation;
  /** The caller's signal, for a root. */
  readonly #source: AbortSignal | undefined;
  #aborted = false;
  #reason: unknown = undefined;
  #released = false;
  #controller: AbortController | undefined = undefined;
  #releaseLater: (() => void) | undefined = undefined;
  /** At the root: who asked to be told, as node, listener, node, listener... (one array per call). */
  #watchers: (Cancellation | Listener)[] | undefined = undefined;
  /** At the root: listening on the source. */
  #listening = false;

  private constructor(parent: Cancellation | undefined, source: AbortSignal | undefined) {
    this.#parent = parent;
    this.#root = parent === undefined ? this : parent.#root;
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
    // Up to the first node aborted, released (it stopped following) or the root.
    for (let node: Cancellation = this; ; ) {
      if (node.#aborted) {
        this.#aborted = true;
        this.#reason = node.#reason;
        return true;
      }
      if (node.#released) return false;
      const parent = node.#parent;
      if (parent === undefined) {
        const source = node.#source;
        if (source === undefined || !source.aborted) return false;
        node.#aborted = this.#aborted = true;
        node.#reason = this.#reason = source.reason;
        return true;
      }
      node = parent;
    }
  }

  /** Why it was aborted; undefined while it is not. */
  get reason(): unknown {
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
      const made = new AbortController();
      controller = made;
      this.#controller = made;
      if (this.aborted) made.abort(this.#reason);
      else if (this.#parent !== undefined) this.onAbort((reason) => made.abort(reason));
    }
    return controller.signal;
  }

  /** Aborts this node and its subtree (not its parent). Later calls do nothing. */
  abort(reason: unknown = new DOMException("This operation was aborted", "AbortError")): void {
    if (this.#parent === undefined) {
      throw new TypeError("a call's root cancellation follows the caller's signal; abort a child() of it");
    }
    if (this.aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#root.#tell(this, reason);
  }

  /** Calls `listener` once, when the node aborts (at once when it already has). */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.aborted) {
      listener(this.#reason);
      return;
    }
    if (this.#released) return;
    const root = this.#root;
    if (root.#watchers === undefined) root.#watchers = [this, listener];
    else root.#watchers.push(this, listener);
    if (!root.#listening && root.#source !== undefined) {
      root.#listening = true;
      root.#source.addEventListener("abort", root, ONCE);
    }
  }

  /** Removes a listener added with `onAbort`. */
  offAbort(listener: (reason: unknown) => void): void {
    const root = this.#root;
    const watchers = root.#watchers;
    if (watchers === undefined) return;
    for (let i = 0; i < watchers.length; i += 2) {
      if (watchers[i + 1] !== listener || watchers[i] !== this) continue;
      // In order: who is told first stays first.
      for (let j = i + 2; j < watchers.length; j++) watchers[j - 2] = watchers[j] as Cancellation | Listener;
      // pop, not a length write: shrinking through `length` leaves the fast path.
      watchers.pop();
      watchers.pop();
      break;
    }
    if (watchers.length === 0) root.#stopListening();
  }

  /** The work this node guards is over: its subtree is no longer told of anything. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#parent !== undefined) this.#root.#forget(this);
  }

  /** Bound once per node, for `whenSettled(response, node.releaseLater, node.releaseLater)`. */
  get releaseLater(): () => void {
    if (this.#releaseLater === undefined) this.#releaseLater = () => this.release();
    return this.#releaseLater;
  }

  /** EventListenerObject of a root: the caller's signal aborted. */
  handleEvent(): void {
    this.#listening = false;
    this.#aborted = true;
    this.#reason = this.#source?.reason;
    this.#tell(this, this.#reason);
  }

  /** At the root: tells (and forgets) those watching within `node`'s subtree. */
  #tell(node: Cancellation, reason: unknown): void {
    const told: Listener[] = [];
    this.#forget(node, told);
    for (const fn of told) notify(fn, reason);
  }

  /** At the root: forgets those watching within `node`'s subtree (into `told`, when given). */
  #forget(node: Cancellation, told?: Listener[]): void {
    const watchers = this.#watchers;
    if (watchers === undefined || watchers.length === 0) return;
    let w = 0;
    for (let i = 0; i < watchers.length; i += 2) {
      const n = watchers[i] as Cancellation;
      const fn = watchers[i + 1] as Listener;
      if (n.#within(node)) {
        told?.push(fn);
        continue;
      }
      watchers[w++] = n;
      watchers[w++] = fn;
    }
    while (watchers.length > w) watchers.pop();
    if (w === 0) this.#stopListening();
  }

  #within(ancestor: Cancellation): boolean {
    for (let n: Cancellation | undefined = this; n !== undefined; n = n.#parent) {
      if (n === ancestor) return true;
    }
    return false;
  }

  #stopListening(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#source?.removeEventListener("abort", this);
  }
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
