import { Code } from "@connectrpc/connect";
import { type MeshResponse, type Place, releaseWhenSettled } from "../call/call.ts";
import type { Cancellation } from "../call/cancellation.ts";
import { MeshError } from "../errors/mesh-error.ts";

/**
 * The last failure of a call that may be retried: an exception, or a response with a
 * failure status together with its attempt's cancellation (kept until it is returned or dropped).
 */
export class LastFailure {
  error: MeshError | undefined = undefined;
  response: MeshResponse | undefined = undefined;
  #attempt: Cancellation | undefined = undefined;
  readonly #place: Place;
  readonly #plugin: string;

  constructor(place: Place, plugin: string) {
    this.#place = place;
    this.#plugin = plugin;
  }

  failedWith(error: MeshError): void {
    this.drop();
    this.error = error;
  }

  answeredWith(response: MeshResponse, attempt: Cancellation): void {
    this.drop();
    this.response = response;
    this.#attempt = attempt;
  }

  /** True when the request provably never reached a server. */
  get neverSent(): boolean {
    return this.error?.neverSent === true;
  }

  /** Forgets the failure; a failure response's stream is cancelled, as nobody will read it. */
  drop(): void {
    this.#attempt?.abort(
      new MeshError(Code.Canceled, "failure response superseded by another attempt", {
        place: this.#place,
        plugin: this.#plugin,
        policy: "",
      }),
    );
    this.#attempt = undefined;
    this.error = undefined;
    this.response = undefined;
  }

  /**
   * Hands the failure to the caller: the failure response as it came, or the error, noting
   * when the retry budget is what stopped the retries.
   */
  giveUp(budgetNote: string | undefined): MeshResponse {
    const res = this.response;
    if (res) {
      const attempt = this.#attempt;
      if (attempt) releaseWhenSettled(res, attempt);
      return res;
    }
    const e = this.error;
    if (!e) throw new Error("LastFailure.giveUp called before any attempt failed");
    if (budgetNote === undefined) throw e;
    throw new MeshError(e.code, `${e.reason}; retry budget exhausted (${budgetNote})`, e.provenance, {
      neverSent: e.neverSent,
      cause: e,
    });
  }
}
