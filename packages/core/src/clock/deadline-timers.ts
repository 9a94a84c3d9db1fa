import type { Clock, TimerHandle } from "./clock.ts";

/** A timer set with `deadlineTimers(clock).start`; `cancel` is idempotent. */
export interface DeadlineTimer {
  cancel(): void;
}

/**
 * What a deadline timer tells when it fires: an object rather than a callback, so the one
 * that owns the deadline (a call's exchange) needs no closure per call to be told.
 */
export interface DeadlineWatcher {
  deadlinePassed(): void;
}

/**
 * Beyond this many distinct durations in use, a timer gets a clock timer of its own: caller
 * deadlines arrive with every possible remaining time, route timeouts with a few.
 */
const MAX_QUEUES = 64;
/** Cancelled timers are swept out of a queue's array once this many sit at its front. */
const COMPACT_AT = 1024;

/**
 * Deadline timers on one clock, sharing clock timers. Timers of the same duration fall due
 * in the order they were set (the clock is monotonic), so each duration has a FIFO queue
 * and one clock timer armed for its earliest live entry. Setting a timer is an append and
 * cancelling one a flag, instead of a platform timer created and cleared per call. A
 * timer still fires at its due time on the clock, never earlier.
 *
 * The shared clock timers are `background` ones: one may stay armed after its last entry
 * was cancelled (re-arming on every call would cost what sharing saves), and it must not
 * keep a process alive. What a call waits on (a socket, a stream) does that.
 */
export class DeadlineTimers {
  readonly #clock: Clock;
  readonly #queues = new Map<number, TimerQueue>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Tells `watcher` once `ms` have passed on the clock, unless cancelled first. `now` is the
   * clock's time when the caller has just read it (a clock read is a tenth of a step's cost).
   */
  start(ms: number, watcher: DeadlineWatcher, now?: number): DeadlineTimer {
    let queue = this.#queues.get(ms);
    if (!queue) {
      if (this.#queues.size >= MAX_QUEUES) return new OwnTimer(this.#clock, ms, watcher);
      queue = new TimerQueue(this.#clock);
      this.#queues.set(ms, queue);
    }
    return queue.add((now ?? this.#clock.now()) + ms, watcher);
  }
}

class OwnTimer implements DeadlineTimer {
  readonly #clock: Clock;
  #handle: TimerHandle | undefined;

  constructor(clock: Clock, ms: number, watcher: DeadlineWatcher) {
    this.#clock = clock;
    this.#handle = clock.setTimeout(() => {
      this.#handle = undefined;
      watcher.deadlinePassed();
    }, ms);
  }

  cancel(): void {
    if (this.#handle === undefined) return;
    this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}

class QueuedTimer implements DeadlineTimer {
  readonly due: number;
  watcher: DeadlineWatcher | undefined;
  readonly #queue: TimerQueue;

  constructor(queue: TimerQueue, due: number, watcher: DeadlineWatcher) {
    this.#queue = queue;
    this.due = due;
    this.watcher = watcher;
  }

  cancel(): void {
    if (this.watcher === undefined) return;
    this.watcher = undefined;
    this.#queue.trim();
  }
}

/**
 * Timers of one duration, due in insertion order: slots `head` to `tail` of `items`. The array
 * keeps its capacity when it empties (truncating it would drop its backing store, and the
 * next call's push would allocate a new one: most of what a timer cost).
 */
class TimerQueue {
  readonly #clock: Clock;
  readonly #items: (QueuedTimer | undefined)[] = [];
  #head = 0;
  #tail = 0;
  #timer: TimerHandle | undefined;
  #armedFor = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  add(due: number, watcher: DeadlineWatcher): QueuedTimer {
    const t = new QueuedTimer(this, due, watcher);
    if (this.#tail < this.#items.length) this.#items[this.#tail] = t;
    else this.#items.push(t);
    this.#tail++;
    // Armed for an earlier (or the same) time: the sweep then re-arms for this one.
    if (this.#timer === undefined || due < this.#armedFor) this.#arm(due);
    return t;
  }

  /** The earliest timer still set, or undefined. */
  get first(): QueuedTimer | undefined {
    return this.#head < this.#tail ? this.#items[this.#head] : undefined;
  }

  /** Drops cancelled timers from the front, where calls that end in order leave them. */
  trim(): void {
    const items = this.#items;
    let head = this.#head;
    const tail = this.#tail;
    while (head < tail && (items[head] as QueuedTimer).watcher === undefined) items[head++] = undefined;
    if (head === tail) {
      this.#head = this.#tail = 0;
      return;
    }
    if (head >= COMPACT_AT && head * 2 >= tail) {
      items.copyWithin(0, head, tail);
      items.fill(undefined, tail - head, tail);
      this.#tail = tail - head;
      head = 0;
    }
    this.#head = head;
  }

  #arm(due: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#armedFor = due;
    this.#timer = this.#clock.setTimeout(this.#sweep, Math.max(0, due - this.#clock.now()), {
      background: true,
    });
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (;;) {
      this.trim();
      const first = this.first;
      if (first === undefined) return;
      if (first.due > now) {
        this.#arm(first.due);
        return;
      }
      const watcher = first.watcher;
      first.watcher = undefined;
      watcher?.deadlinePassed();
    }
  };
}

const perClock = new WeakMap<Clock, DeadlineTimers>();

/** The deadline timers of a clock (one set per clock, like its timers). */
export function deadlineTimers(clock: Clock): DeadlineTimers {
  let timers = perClock.get(clock);
  if (!timers) {
    timers = new DeadlineTimers(clock);
    perClock.set(clock, timers);
  }
  return timers;
}
