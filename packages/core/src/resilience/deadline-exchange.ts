import { Code } from "@connectrpc/connect";
import type { MeshCall, MeshResponse } from "../call/call.ts";
import type { Exchange, FilterRun } from "../chain/filter.ts";
import type { Clock } from "../clock/clock.ts";
import type { DeadlineTimer, DeadlineTimers, DeadlineWatcher } from "../clock/deadline-timers.ts";
import type { MeshError } from "../errors/mesh-error.ts";

/** The error of a deadline of `ms` that passed during `call` (made once per step, not per call). */
export type Expire = (call: MeshCall, ms: number) => MeshError;

/**
 * A call bounded by a timer of `ms` (the timeout and per-try timeout steps). `call` is the
 * bounded copy, whose cancellation (a child the step owns) is aborted with `expire()`'s
 * error when the timer fires first; the layers above then get that error at once
 * (`FilterRun.cut`). Once a response head is in, the timer still runs until the response
 * settles, so a stream that outlives its deadline is cut through the cancellation, which is
 * released once the response has settled. `now` is the clock's time `ms` counts from.
 */
export class DeadlineExchange implements Exchange, DeadlineWatcher {
  readonly call: MeshCall;
  readonly #run: FilterRun;
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #expire: Expire;
  readonly #timer: DeadlineTimer;
  /** The layers above have had their outcome: the answer passed up, or the deadline cut it. */
  #over = false;

  constructor(
    run: FilterRun,
    clock: Clock,
    timers: DeadlineTimers,
    call: MeshCall,
    ms: number,
    now: number,
    expire: Expire,
  ) {
    this.call = call;
    this.#run = run;
    this.#clock = clock;
    this.#ms = ms;
    this.#expire = expire;
    this.#timer = timers.start(ms, this, now);
  }

  deadlinePassed(): void {
    const err = this.#expire(this.call, this.#ms);
    this.call.cancellation.abort(err);
    if (this.#over) return;
    this.#over = true;
    this.#run.cut(this, err);
  }

  answered(response: MeshResponse): MeshResponse {
    this.#over = true;
    if (response.outcome !== undefined) this.#done();
    else {
      const done = () => this.#done();
      response.settled.then(done, done);
    }
    return response;
  }

  failed(error: MeshError): never {
    this.#done();
    if (this.#over) throw error;
    this.#over = true;
    throw this.#ownDeadline(error) ? this.#expire(this.call, this.#ms) : error;
  }

  #done(): void {
    this.#timer.cancel();
    this.call.cancellation.release();
  }

  /**
   * The layers below (the transport) watch `call.deadline`, the one this timer stands for,
   * with timers of their own, and one of those may fire first. Their DeadlineExceeded at
   * that deadline is still this step's expiry and must say so: the retry step retries a
   * per-try timeout, not a transport's deadline error. 1 ms of slack: a platform timer may
   * fire up to a millisecond early against the clock.
   */
  #ownDeadline(err: MeshError): boolean {
    const deadline = this.call.deadline;
    return err.code === Code.DeadlineExceeded && deadline !== undefined && this.#clock.now() >= deadline - 1;
  }
}
