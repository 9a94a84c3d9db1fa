import { Code } from "@connectrpc/connect";
import type { MeshCall, MeshResponse } from "../call/call.ts";
import type { Handler } from "../chain/chain.ts";
import type { Clock } from "../clock/clock.ts";
import { MeshError } from "../errors/mesh-error.ts";
import type { DeadlineTimers } from "./deadline-timers.ts";

/** The error of a deadline of `ms` that passed during `call` (made once per step, not per call). */
export type Expire = (call: MeshCall, ms: number) => MeshError;

/**
 * Runs `next(call)` against a timer of `ms`: when it fires first, the call's cancellation
 * (a child this step owns) is aborted with `expire()`'s error and the promise rejects with
 * it. Once a response head is in, the timer still runs until the response settles, so a
 * stream that outlives its deadline is cut through the cancellation, which is released
 * once the response has settled. `now` is the clock's time `ms` counts from.
 */
export function raceTimer(
  clock: Clock,
  timers: DeadlineTimers,
  next: Handler,
  call: MeshCall,
  ms: number,
  now: number,
  expire: Expire,
): Promise<MeshResponse> {
  return new Promise<MeshResponse>((resolve, reject) => {
    let answered = false;
    const cancellation = call.cancellation;
    const timer = timers.start(
      ms,
      () => {
        const err = expire(call, ms);
        cancellation.abort(err);
        if (!answered) {
          answered = true;
          reject(err);
        }
      },
      now,
    );
    let sent: Promise<MeshResponse>;
    try {
      sent = next(call);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      (res) => {
        if (answered) return;
        answered = true;
        if (res.outcome !== undefined) {
          timer.cancel();
          cancellation.release();
        } else {
          const release = () => {
            timer.cancel();
            cancellation.release();
          };
          res.settled.then(release, release);
        }
        resolve(res);
      },
      (err: unknown) => {
        timer.cancel();
        cancellation.release();
        if (answered) return;
        answered = true;
        reject(ownDeadline(err, call, clock) ? expire(call, ms) : err);
      },
    );
  });
}

/**
 * The layers below (the transport) watch `call.deadline`, the one this timer stands for, with
 * timers of their own, and one of those may fire first. Their DeadlineExceeded at that
 * deadline is still this step's expiry and must say so: the retry step retries a per-try
 * timeout, not a transport's deadline error. 1 ms of slack: a platform timer may fire up to
 * a millisecond early against the clock.
 */
function ownDeadline(err: unknown, call: MeshCall, clock: Clock): boolean {
  return (
    err instanceof MeshError &&
    err.code === Code.DeadlineExceeded &&
    call.deadline !== undefined &&
    clock.now() >= call.deadline - 1
  );
}
