import type { MeshCall, MeshResponse, Place } from "../call/call.ts";
import type { Clock } from "../clock/clock.ts";
import { asMeshError, MeshError, type Provenance } from "../errors/mesh-error.ts";
import { attribute } from "./attribute.ts";
import type { Handler } from "./chain.ts";

/**
 * A step in its phased form, after Envoy's stream filters: a request phase when the call
 * comes in, and a response phase when the layers below have answered. Written this way, a
 * run of steps costs one promise turn per call instead of one per step: compose fuses
 * neighbouring filters, calls their request phases one after the other, sends the call
 * once, and passes the answer up through their response phases synchronously. Each step
 * keeps the power of an interceptor: change the call or send a copy, fail it, observe or
 * replace the response, send again (a retry, through `below`), or end it early (`cut`, a
 * deadline).
 */
export interface Filter {
  /**
   * May an exchange end the call for the layers above before the layers below have
   * answered (`FilterRun.cut`)? A run with such a filter returns a promise of its own.
   */
  readonly cuts?: boolean;
  /** Binds the filter over the steps below it; `below` sends a call through them (retries resend through it). */
  bind(below: Handler): Open;
}

/**
 * The request phase: may change `call` or fail it by throwing a MeshError. Returns the
 * exchange that wants the response, or undefined to let the call pass untouched.
 */
export type Open = (call: MeshCall, run: FilterRun) => Exchange | undefined;

/** One call's passage through a filter: what the filter sends on, and how it takes the answer. */
export interface Exchange {
  /** The call sent on: the one the filter was given, or a copy (an attempt, a bounded stretch). */
  readonly call: MeshCall;
  /**
   * The layers below answered with `response`. Returns the response for the layers above
   * (this one, another, or a promise of one, e.g. a retry's), or throws a MeshError.
   */
  answered(response: MeshResponse, run: FilterRun): MeshResponse | Promise<MeshResponse>;
  /** The layers below failed with `error`. Returns a response instead, or throws (usually `error`). */
  failed(error: MeshError, run: FilterRun): MeshResponse | Promise<MeshResponse>;
}

/** What an exchange sees of the run it is in. */
export interface FilterRun {
  /**
   * Ends the call now for the layers above `exchange`, with `error` (a deadline passed). The
   * exchange is still told, in its turn, how the layers below ended. Only filters with `cuts`.
   */
  cut(exchange: Exchange, error: MeshError): void;
  /**
   * `clock.now()`, read once per passage of an answer up the run: the filters that time the
   * call (metrics, the balancer's latency) share the read instead of each paying for one.
   */
  now(clock: Clock): number;
}

/** What every call through one fused run shares. */
interface Shape {
  readonly opens: readonly Open[];
  readonly names: readonly string[];
  readonly place: Place;
  readonly bottom: Handler;
  /** Set when `bottom` is a raw terminal: its failures are attributed to it here. */
  readonly bottomProvenance: Provenance | undefined;
}

/**
 * Fuses `filters` (outermost first) over `bottom`. `bottomProvenance` is given when `bottom`
 * is a terminal whose failures have not been made MeshErrors yet (compose leaves that to
 * the run, which saves the terminal a promise turn of its own).
 */
export function fuse(
  place: Place,
  names: readonly string[],
  filters: readonly Filter[],
  bottom: Handler,
  bottomProvenance: Provenance | undefined,
): Handler {
  // Each filter is bound over the fused run of the filters below it, so what it resends
  // (a retry) goes through them as the first attempt did.
  const opens: Open[] = new Array(filters.length);
  let below: Handler = bottomProvenance === undefined ? bottom : attribute(bottomProvenance, bottom);
  for (let i = filters.length - 1; i >= 0; i--) {
    opens[i] = (filters[i] as Filter).bind(below);
    if (i > 0) {
      below = runHandler(
        { opens: opens.slice(i), names: names.slice(i), place, bottom, bottomProvenance },
        filters.slice(i).some((f) => f.cuts === true),
      );
    }
  }
  return runHandler(
    { opens, names, place, bottom, bottomProvenance },
    filters.some((f) => f.cuts === true),
  );
}

function runHandler(shape: Shape, cuts: boolean): Handler {
  return (call) => new Run(shape, cuts).start(call);
}

/**
 * One call through a fused run. Exchanges are told how the call went from the innermost
 * out; each is told exactly once: by the answer from below, or, for those above an exchange
 * that cut the call, by the cut.
 */
class Run implements FilterRun {
  readonly #shape: Shape;
  readonly #exchanges: (Exchange | undefined)[];
  /** The outermost exchange the answer from below still goes to (raised by a cut). */
  #floor = 0;
  #resolve: ((value: MeshResponse | Promise<MeshResponse>) => void) | undefined = undefined;
  #reject: ((reason: unknown) => void) | undefined = undefined;
  readonly #cuts: boolean;
  #clock: Clock | undefined = undefined;
  #now = 0;

  constructor(shape: Shape, cuts: boolean) {
    this.#shape = shape;
    this.#exchanges = new Array(shape.opens.length);
    this.#cuts = cuts;
  }

  start(call: MeshCall): Promise<MeshResponse> {
    const { opens, bottom } = this.#shape;
    const exchanges = this.#exchanges;
    let sending = call;
    let i = 0;
    try {
      for (; i < opens.length; i++) {
        const exchange = (opens[i] as Open)(sending, this);
        exchanges[i] = exchange;
        if (exchange !== undefined) sending = exchange.call;
      }
    } catch (err) {
      // Refused before anything was sent: the exchanges opened so far hear why.
      try {
        return Promise.resolve(this.#pass(i - 1, false, this.#fault(err, i), false));
      } catch (failure) {
        return Promise.reject(failure);
      }
    }
    let sent: Promise<MeshResponse>;
    try {
      sent = bottom(sending);
      if (!(sent instanceof Promise)) sent = Promise.resolve(sent);
    } catch (err) {
      sent = Promise.reject(err);
    }
    const last = exchanges.length - 1;
    if (!this.#cuts) {
      return sent.then(
        (response) => this.#pass(last, true, response, false),
        (err: unknown) => this.#pass(last, false, this.#bottomFault(err), false),
      );
    }
    const own = new Promise<MeshResponse>(stash);
    this.#resolve = stashed.resolve;
    this.#reject = stashed.reject;
    sent.then(
      (response) => this.#settle(last, true, response, false),
      (err: unknown) => this.#settle(last, false, this.#bottomFault(err), false),
    );
    return own;
  }

  cut(exchange: Exchange, error: MeshError): void {
    const at = this.#exchanges.indexOf(exchange);
    // Only an exchange still waiting for the answer may cut; the answer then stops at it.
    if (at < this.#floor || this.#resolve === undefined) return;
    this.#floor = at;
    this.#settle(at - 1, false, error, true);
  }

  now(clock: Clock): number {
    if (this.#clock !== clock) {
      this.#clock = clock;
      this.#now = clock.now();
    }
    return this.#now;
  }

  /**
   * Settles the run's own promise (a cutting run's) with what `#pass` makes of the outcome;
   * once settled, later outcomes are dropped, though still passed up to the run's floor.
   * While an exchange answers with a promise (a retry's), the run's promise stays open to a
   * cut instead of following it.
   */
  #settle(from: number, ok: boolean, value: unknown, toTop: boolean): void {
    const resolve = this.#resolve as (value: MeshResponse) => void;
    const reject = this.#reject as (reason: unknown) => void;
    let out: MeshResponse | Promise<MeshResponse>;
    try {
      out = this.#pass(from, ok, value, toTop);
    } catch (err) {
      reject(err);
      return;
    }
    if (out instanceof Promise) out.then(resolve, reject);
    else resolve(out);
  }

  /**
   * Passes an outcome up from exchange `from`: to the run's floor for the answer from below,
   * to the top for a cut (`toTop`). Returns the outcome for the layers above (or throws it);
   * a promise when an exchange answered with one, the rest following once it settles.
   */
  #pass(from: number, ok: boolean, value: unknown, toTop: boolean): MeshResponse | Promise<MeshResponse> {
    this.#clock = undefined;
    const exchanges = this.#exchanges;
    for (let i = from; i >= (toTop ? 0 : this.#floor); i--) {
      const exchange = exchanges[i];
      if (exchange === undefined) continue;
      let out: MeshResponse | Promise<MeshResponse>;
      try {
        out = ok ? exchange.answered(value as MeshResponse, this) : exchange.failed(value as MeshError, this);
      } catch (err) {
        ok = false;
        value = this.#fault(err, i);
        continue;
      }
      if (out instanceof Promise) {
        return out.then(
          (res) => this.#pass(i - 1, true, res, toTop),
          (err: unknown) => this.#pass(i - 1, false, this.#fault(err, i), toTop),
        );
      }
      ok = true;
      value = out;
    }
    if (ok) return value as MeshResponse;
    throw value;
  }

  /** What exchange `i` threw, as a MeshError naming its step when it is not one already. */
  #fault(err: unknown, i: number): MeshError {
    if (err instanceof MeshError) return err;
    return asMeshError(err, { place: this.#shape.place, plugin: this.#shape.names[i] ?? "", policy: "" });
  }

  #bottomFault(err: unknown): MeshError {
    if (err instanceof MeshError) return err;
    const { bottomProvenance, names, place } = this.#shape;
    if (bottomProvenance !== undefined) return asMeshError(err, bottomProvenance);
    // A bottom composed by compose rejects with MeshErrors only; any other `next` (a filter
    // used as an interceptor) is answered for by the step that called it, as an interceptor would be.
    return asMeshError(err, { place, plugin: names[names.length - 1] ?? "", policy: "" });
  }
}

/**
 * The executor of a cutting run's promise, shared: it leaves the promise's resolvers in
 * `stashed`, which the run takes at once, instead of a closure made per call to catch them.
 */
const stashed: {
  resolve: ((value: MeshResponse | Promise<MeshResponse>) => void) | undefined;
  reject: ((reason: unknown) => void) | undefined;
} = { resolve: undefined, reject: undefined };
function stash(
  resolve: (value: MeshResponse | Promise<MeshResponse>) => void,
  reject: (reason: unknown) => void,
): void {
  stashed.resolve = resolve;
  stashed.reject = reject;
}
