import type { LabProcess } from "./process.ts";

/** One call of the load generator, wall-clock milliseconds. */
export interface CallRecord {
  readonly start: number;
  readonly latencyMs: number;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  /** The replica that answered (its `x-replica`), "" when none did. */
  readonly replica: string;
  readonly error: string;
}

type Wire = [number, number, number, string, string];

/** The lab's side of programs/load.ts: commands in, call records out. */
export class LoadGenerator {
  readonly records: CallRecord[] = [];
  readonly #process: LabProcess;
  #waiters: ((json: Record<string, unknown>) => boolean)[] = [];
  /** Calls started before this (wall-clock ms) are not recorded. */
  #measureFrom = 0;

  constructor(process: LabProcess) {
    this.#process = process;
  }

  /** Wire this to the process's onJson (before it starts, so no line is missed). */
  take(json: Record<string, unknown>): void {
    if (Array.isArray(json.calls)) {
      for (const [start, latencyMs, status, replica, error] of json.calls as Wire[])
        if (start >= this.#measureFrom) this.records.push({ start, latencyMs, status, replica, error });
      return;
    }
    this.#waiters = this.#waiters.filter((w) => !w(json));
  }

  /**
   * Calls one at a time until `replicas` distinct replicas answered: the client's sidecar has
   * then learnt every endpoint from the control plane. Throws with the last failure otherwise.
   */
  async warm(replicas: number, timeoutMs = 30_000): Promise<void> {
    const answer = this.#next((j) => j.msg === "warm", timeoutMs + 5_000);
    this.#process.send(`warm ${replicas} ${timeoutMs}`);
    const j = await answer;
    if (j.ok !== true)
      throw new Error(
        `the client did not reach ${replicas} replicas of the service within ${timeoutMs} ms (saw ${JSON.stringify(j.seen)} in ${j.calls} calls; last failure: ${j.last})`,
      );
    this.records.length = 0;
  }

  start(rps: number): void {
    this.#process.send(`start ${rps}`);
  }

  /** Records only the calls started from now on (the ones before were a warm-up). */
  measureFromNow(): void {
    this.#measureFrom = Date.now();
    this.records.length = 0;
  }

  /** Stops issuing and waits (bounded) until the calls in flight have come back. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const done = this.#next((j) => j.msg === "stopped", timeoutMs);
    this.#process.send("stop");
    await done;
  }

  #next(match: (j: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the load generator did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push((j) => {
        if (!match(j)) return false;
        clearTimeout(timer);
        resolve(j);
        return true;
      });
    });
  }
}
