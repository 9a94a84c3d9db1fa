import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { forkCall, newCall } from "../../src/call/call.ts";
import { Cancellation } from "../../src/call/cancellation.ts";

describe("Cancellation", () => {
  it("aborts a subtree, never the parent, and tells signals and listeners with the reason", () => {
    const root = Cancellation.follow(new AbortController().signal);
    const call = root.child();
    const first = call.child();
    const second = call.child();
    const signal = second.signal;
    const heard: unknown[] = [];
    second.onAbort((r) => heard.push(r));

    const superseded = new Error("superseded");
    first.abort(superseded);
    expect(first.aborted).toBe(true);
    expect(first.reason).toBe(superseded);
    expect(call.aborted).toBe(false);
    expect(second.aborted).toBe(false);

    const deadline = new Error("deadline");
    call.abort(deadline);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(deadline);
    expect(heard).toEqual([deadline]);
    expect(second.reason).toBe(deadline);
    // The first attempt keeps the reason it was aborted with.
    expect(first.reason).toBe(superseded);
    expect(root.aborted).toBe(false);
  });

  it("follows the caller's signal, read or told, and hands out the caller's signal at the root", () => {
    const caller = new AbortController();
    const root = Cancellation.follow(caller.signal);
    expect(root.signal).toBe(caller.signal);
    const unwatched = root.child().child();
    const watched = root.child().child();
    const signal = watched.signal;
    const gone = new Error("caller went away");
    caller.abort(gone);
    expect(signal.reason).toBe(gone);
    expect(unwatched.aborted).toBe(true);
    expect(unwatched.reason).toBe(gone);
    expect(root.reason).toBe(gone);
  });

  it("takes its listener off the caller's signal once nothing below watches, so a long-lived signal collects none", () => {
    const shared = new AbortController().signal;
    for (let i = 0; i < 100; i++) {
      const attempt = Cancellation.follow(shared).child().child();
      void attempt.signal;
      expect(getEventListeners(shared, "abort")).toHaveLength(1);
      attempt.release();
    }
    expect(getEventListeners(shared, "abort")).toHaveLength(0);
    // A call that never asked for a signal never listened at all.
    const quiet = Cancellation.follow(shared).child();
    expect(quiet.aborted).toBe(false);
    quiet.release();
    expect(getEventListeners(shared, "abort")).toHaveLength(0);
  });

  it("stops following once released, and removes listeners on request", () => {
    const call = Cancellation.follow().child();
    const done = call.child();
    const doneSignal = done.signal;
    done.release();
    let told = 0;
    const listener = () => told++;
    const waiting = call.child();
    waiting.onAbort(listener);
    waiting.offAbort(listener);
    call.abort(new Error("later"));
    expect(doneSignal.aborted).toBe(false);
    expect(done.aborted).toBe(false);
    expect(told).toBe(0);
    expect(waiting.aborted).toBe(true);
  });

  it("tells a listener added after the abort at once", () => {
    const node = Cancellation.follow().child();
    const heard: string[] = [];
    node.onAbort(() => heard.push("first"));
    const child = node.child();
    void child.signal;
    node.abort(new Error("stop"));
    expect(heard).toEqual(["first"]);
    expect(child.signal.aborted).toBe(true);
    node.onAbort(() => heard.push("late"));
    expect(heard).toEqual(["first", "late"]);
  });

  it("refuses to abort a root: only the caller ends a call", () => {
    expect(() => Cancellation.follow().abort()).toThrow(/root cancellation follows the caller's signal/);
  });
});

describe("MeshCall cancellation", () => {
  it("makes a call's signal only when read, and gives forks their own", () => {
    const caller = new AbortController();
    const call = newCall({ kind: "unary", place: "client", service: "orders", signal: caller.signal });
    expect(call.signal).toBe(caller.signal);
    const attempt = forkCall(call, { attempt: 2, cancellation: call.cancellation.child() });
    expect(attempt.signal).not.toBe(caller.signal);
    caller.abort(new Error("gone"));
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.attempt).toBe(2);
    expect(attempt.attributes).toBe(call.attributes);
  });
});
