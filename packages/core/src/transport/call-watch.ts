import { Code } from "@connectrpc/connect";
import type { Place } from "../call/call.ts";
import { type Canceller, watchAbort } from "../call/cancellation.ts";
import type { Clock } from "../clock/clock.ts";
import { type DeadlineTimer, type DeadlineWatcher, deadlineTimers } from "../clock/deadline-timers.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { provenance } from "./stream-errors.ts";

/**
 * Watches a call's cancellation (or an abort signal) and deadline (absolute ms on the clock) and says once, with a
 * MeshError, why the call must stop: Canceled or DeadlineExceeded.
 */
export class CallWatch implements DeadlineWatcher {
  reason: MeshError | undefined;
  /** Set once the request left this process: a stop after that may have had effects. */
  sent = false;
  readonly #place: Place;
  readonly #key: string;
  #unwatch: (() => void) | undefined;
  #timer: DeadlineTimer | undefined;
  #listeners: Array<(reason: MeshError) => void> = [];

  constructor(clock: Clock, place: Place, key: string, canceller?: Canceller, deadline?: number) {
    this.#place = place;
    this.#key = key;
    if (canceller?.aborted) {
      this.#stop(Code.Canceled, `the call to ${key} was canceled: ${reasonText(canceller.reason)}`);
      return;
    }
    if (canceller) this.#unwatch = watchAbort(canceller, this.#onAbort);
    if (deadline !== undefined) {
      const now = clock.now();
      const ms = deadline - now;
      if (ms <= 0) this.#stop(Code.DeadlineExceeded, `the deadline passed before the call to ${key} started`);
      // On the deadline timers the chain's timeout step uses: whole milliseconds (never
      // early, at most one late) make calls of one route share a queue and its clock timer,
      // instead of a platform timer set and cleared per call.
      else this.#timer = deadlineTimers(clock).start(Math.ceil(ms), this, now);
    }
  }

  readonly #onAbort = (reason: unknown) => {
    this.#unwatch = undefined;
    this.#stop(Code.Canceled, `the call to ${this.#key} was canceled: ${reasonText(reason)}`);
  };

  deadlinePassed(): void {
    this.#timer = undefined;
    this.#stop(
      Code.DeadlineExceeded,
      this.sent
        ? `deadline exceeded waiting for ${this.#key} to complete the call`
        : `deadline exceeded before the call could be sent to ${this.#key}`,
    );
  }

  #stop(code: Code, reason: string): void {
    if (this.reason) return;
    this.reason = new MeshError(code, reason, provenance(this.#place), { neverSent: !this.sent });
    this.dispose();
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const fn of listeners) fn(this.reason);
  }

  /** Calls `fn` when the call must stop (at once if it already must); returns an unsubscribe. */
  onStop(fn: (reason: MeshError) => void): () => void {
    if (this.reason) {
      fn(this.reason);
      return noop;
    }
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Waits for `promise`, or rejects as soon as the call must stop. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.reason) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      const off = this.onStop(reject);
      promise.then(
        (v) => {
          off();
          resolve(v);
        },
        (e) => {
          off();
          reject(e);
        },
      );
    });
  }

  dispose(): void {
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    unwatch?.();
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}

function noop(): void {}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? "aborted");
}
