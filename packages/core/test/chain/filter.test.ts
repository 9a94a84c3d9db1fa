import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type MeshCall, type MeshResponse, newCall, settledResponse } from "../../src/call/call.ts";
import {
  compose,
  filterStep,
  type Handler,
  type Interceptor,
  type Step,
  terminalStep,
} from "../../src/chain/chain.ts";
import type { Filter } from "../../src/chain/filter.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { cutAfter } from "./cut-after.ts";

const call = () =>
  newCall({ kind: "unary", place: "client", service: "orders", method: "shop.v1.Orders/Get" });
const ok = () => settledResponse({ status: 200 });

/** A filter that records its phases into `log` and can be told how to answer. */
function recording(
  name: string,
  log: string[],
  behave: {
    open?: (call: MeshCall) => void;
    answered?: (res: MeshResponse) => MeshResponse | Promise<MeshResponse>;
    failed?: (err: MeshError) => MeshResponse | Promise<MeshResponse>;
  } = {},
): Step {
  const filter: Filter = {
    bind: () => (c) => {
      log.push(`open:${name}`);
      behave.open?.(c);
      return {
        call: c,
        answered(res) {
          log.push(`answered:${name}:${res.status}`);
          return behave.answered ? behave.answered(res) : res;
        },
        failed(err) {
          log.push(`failed:${name}:${Code[err.code]}`);
          if (behave.failed) return behave.failed(err);
          throw err;
        },
      };
    },
  };
  return { name, ...filterStep(filter, "client", name) };
}

/** Counts how many promise turns a handler's answer takes after the terminal answered. */
async function turnsAfterTerminal(handler: Handler): Promise<number> {
  let turns = 0;
  let counting = true;
  const tick = (): void => {
    if (!counting) return;
    turns++;
    queueMicrotask(tick);
  };
  const answer = handler(call());
  queueMicrotask(tick);
  await answer;
  counting = false;
  return turns;
}

describe("fused filters", () => {
  it("opens outermost first, sends once, and passes the answer up innermost first", async () => {
    const log: string[] = [];
    let sent = 0;
    const handler = compose(
      "client",
      [recording("a", log), recording("b", log), recording("c", log)],
      terminalStep("app", async () => {
        sent++;
        log.push("sent");
        return ok();
      }),
    );
    const res = await handler(call());
    expect(res.status).toBe(200);
    expect(sent).toBe(1);
    expect(log).toEqual([
      "open:a",
      "open:b",
      "open:c",
      "sent",
      "answered:c:200",
      "answered:b:200",
      "answered:a:200",
    ]);
  });

  it("costs one promise turn for the whole run, where interceptors cost one per step", async () => {
    const passThrough: Interceptor = (next) => (c) => next(c).then((r) => r);
    const interceptors = compose(
      "client",
      ["a", "b", "c", "d"].map((name) => ({ name, interceptor: passThrough })),
      terminalStep("app", () => Promise.resolve(ok())),
    );
    const fused = compose(
      "client",
      ["a", "b", "c", "d"].map((name) => recording(name, [])),
      terminalStep("app", () => Promise.resolve(ok())),
    );
    const empty = compose(
      "client",
      [],
      terminalStep("app", () => Promise.resolve(ok())),
    );
    const base = await turnsAfterTerminal(empty);
    expect(await turnsAfterTerminal(fused)).toBe(base);
    expect(await turnsAfterTerminal(interceptors)).toBeGreaterThan(base + 3);
  });

  it("a refusal in a request phase is what the phases above hear; nothing is sent", async () => {
    const log: string[] = [];
    let sent = 0;
    const refuse = recording("b", log, {
      open: () => {
        throw new MeshError(Code.Unavailable, "no endpoint", { place: "client", plugin: "b", policy: "" });
      },
    });
    const handler = compose(
      "client",
      [recording("a", log), refuse, recording("c", log)],
      terminalStep("app", async () => {
        sent++;
        return ok();
      }),
    );
    await expect(handler(call())).rejects.toMatchObject({ code: Code.Unavailable, reason: "no endpoint" });
    expect(sent).toBe(0);
    expect(log).toEqual(["open:a", "open:b", "failed:a:Unavailable"]);
  });

  it("names the step whose phase threw something that is not a MeshError, and the terminal for its own failures", async () => {
    const broken = recording("broken", [], {
      answered: () => {
        throw new Error("boom");
      },
    });
    const handler = compose(
      "client",
      [recording("a", []), broken],
      terminalStep("app", async () => ok()),
    );
    await expect(handler(call())).rejects.toMatchObject({
      code: Code.Internal,
      provenance: { plugin: "broken" },
    });

    const failing = compose(
      "client",
      [recording("a", [])],
      terminalStep("transport", () => {
        throw new Error("socket gone");
      }),
    );
    await expect(failing(call())).rejects.toMatchObject({ provenance: { plugin: "transport" } });
  });

  it("as an interceptor over a plain handler, names itself for what that handler throws", async () => {
    const step = recording("alone", []);
    const handler = step.interceptor(async () => {
      throw new Error("not a mesh error");
    });
    await expect(handler(call())).rejects.toMatchObject({ provenance: { plugin: "alone" } });
  });

  it("a phase may answer with a promise (a retry); the phases above wait for it", async () => {
    const log: string[] = [];
    let attempts = 0;
    const retryOnce: Filter = {
      bind: (below) => (c) => ({
        call: c,
        answered: (res) => (res.status === 503 ? below(c) : res),
        failed: (err) => {
          throw err;
        },
      }),
    };
    const handler = compose(
      "client",
      [
        recording("outer", log),
        { name: "retry", ...filterStep(retryOnce, "client", "retry") },
        recording("inner", log),
      ],
      terminalStep("app", async () => settledResponse({ status: ++attempts === 1 ? 503 : 200 })),
    );
    const res = await handler(call());
    expect(res.status).toBe(200);
    // The resend went through the filters below the retry, and the outer one heard the last answer only.
    expect(log).toEqual([
      "open:outer",
      "open:inner",
      "answered:inner:503",
      "open:inner",
      "answered:inner:200",
      "answered:outer:200",
    ]);
  });

  it("a cut ends the call for the phases above at once; those below still hear the late answer", async () => {
    const clock = new FakeClock();
    const log: string[] = [];
    const deadline = cutAfter(clock, 100, log);
    let answer: ((res: MeshResponse) => void) | undefined;
    const handler = compose(
      "client",
      [
        recording("outer", log),
        { name: "deadline", ...filterStep(deadline, "client", "deadline") },
        recording("inner", log),
      ],
      terminalStep("app", () => new Promise<MeshResponse>((resolve) => (answer = resolve))),
    );
    const result = handler(call()).then(
      () => "answered",
      (err: MeshError) => Code[err.code],
    );
    await clock.advance(100);
    expect(await result).toBe("DeadlineExceeded");
    expect(log).toEqual(["open:outer", "open:inner", "failed:outer:DeadlineExceeded"]);
    answer?.(ok());
    await clock.advance(0);
    await Promise.resolve();
    // Told once each: the inner one and the deadline itself by the late answer, never the outer one again.
    expect(log).toEqual([
      "open:outer",
      "open:inner",
      "failed:outer:DeadlineExceeded",
      "answered:inner:200",
      "answered:deadline:200",
    ]);
  });

  it("a cut reaches the caller even while a phase below it is still answering with a promise", async () => {
    const clock = new FakeClock();
    const deadline = cutAfter(clock, 50);
    // A retry whose second attempt never ends, and which ignores cancellation.
    const stubborn: Filter = {
      bind: () => (c) => ({
        call: c,
        answered: () => new Promise<MeshResponse>(() => {}),
        failed: (e) => Promise.reject(e),
      }),
    };
    const handler = compose(
      "client",
      [
        { name: "deadline", ...filterStep(deadline, "client", "deadline") },
        { name: "stubborn", ...filterStep(stubborn, "client", "stubborn") },
      ],
      terminalStep("app", async () => settledResponse({ status: 503 })),
    );
    const result = handler(call()).then(
      () => "answered",
      (err: MeshError) => Code[err.code],
    );
    await clock.advance(50);
    expect(await result).toBe("DeadlineExceeded");
  });
});
