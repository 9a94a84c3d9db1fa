import { Code } from "@connectrpc/connect";
import type { MeshResponse, Place } from "../call/call.ts";
import { MeshError } from "../errors/mesh-error.ts";
import type { LinkedAbort } from "./linked-abort.ts";

/**
 * The last failure of a call that may be retried: an exception, or a response with a
 * failure status together with its attempt's link (kept until it is returned or dropped).
 */
export class LastFailure {
  error: MeshError | undefined = undefined;
  response: MeshResponse | undefined = undefined;
  #link: LinkedAbort | undefined = undefined;
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

  answeredWith(response: MeshResponse, link: LinkedAbort): void {
    this.drop();
    this.response = response;
    this.#link = link;
  }

  /** True when the request provably never reached a server. */
  get neverSent(): boolean {
    return this.error?.neverSent === true;
  }

  /** Forgets the failure; a failure response's stream is cancelled, as nobody will read it. */
  drop(): void {
    this.#link?.abort(
      new MeshError(Code.Canceled, "failure response superseded by another attempt", {
        place: this.#place,
        plugin: this.#plugin,
        policy: "",
      }),
    );
    this.#link = undefined;
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
      const link = this.#link;
      if (link) res.settled.then(link.unlinkLater, link.unlinkLater);
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
