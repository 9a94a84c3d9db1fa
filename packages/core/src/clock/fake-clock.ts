import type { Clock, TimerHandle } from "./clock.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. `advance` runs due timers in time order and lets
 * promise callbacks settle between them, so async policies run as they would in real time.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<object, Timer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number, _options?: { background?: boolean }): TimerHandle {
    const handle = {};
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as object);
  }

  /** Pending timers; a test can assert nothing was left behind. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await flush();
    for (;;) {
      const next = this.#nextDue(end);
      if (!next) break;
      const [handle, timer] = next;
      this.#timers.delete(handle);
      this.#now = timer.at;
      timer.fn();
      await flush();
    }
    this.#now = end;
    await flush();
  }

  #nextDue(end: number): [object, Timer] | undefined {
    let best: [object, Timer] | undefined;
    for (const entry of this.#timers) {
      const t = entry[1];
      if (t.at > end) continue;
      if (!best || t.at < best[1].at || (t.at === best[1].at && t.seq < best[1].seq)) best = entry;
    }
    return best;
  }
}

/** Lets queued promise callbacks run (several turns, as chains of awaits need). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
