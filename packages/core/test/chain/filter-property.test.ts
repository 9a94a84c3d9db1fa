import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MeshResponse, newCall, settledResponse } from "../../src/call/call.ts";
import { compose, filterStep, type Step, terminalStep } from "../../src/chain/chain.ts";
import type { Filter } from "../../src/chain/filter.ts";
import { sleep } from "../../src/clock/clock.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { cutAfter } from "./cut-after.ts";

/** What a filter does with each phase; `async` answers the same a microtask later. */
interface Behaviour {
  refuse: boolean;
  onAnswer: "pass" | "replace" | "throw";
  onFailure: "rethrow" | "recover";
  async: boolean;
}

type Outcome = { ok: true; status: number } | { ok: false; reason: string };

const behaviour: fc.Arbitrary<Behaviour> = fc.record({
  refuse: fc.boolean().map((b) => b && Math.random() < 0.3),
  onAnswer: fc.constantFrom("pass", "replace", "throw"),
  onFailure: fc.constantFrom("rethrow", "recover"),
  async: fc.boolean(),
});

const err = (reason: string) =>
  new MeshError(Code.Unavailable, reason, { place: "client", plugin: "t", policy: "" });

/** What the phase of filter `i` makes of an outcome, as the model has it. */
function phase(b: Behaviour, i: number, outcome: Outcome): Outcome {
  if (outcome.ok) {
    if (b.onAnswer === "pass") return outcome;
    if (b.onAnswer === "replace") return { ok: true, status: 200 + i };
    return { ok: false, reason: `thrown by ${i}` };
  }
  return b.onFailure === "recover" ? { ok: true, status: 500 + i } : outcome;
}

/** The outcome the caller must see, and which filters must hear one, computed step by step. */
function model(bs: Behaviour[], bottom: Outcome): { outcome: Outcome; told: number[] } {
  const refusedAt = bs.findIndex((b) => b.refuse);
  let outcome: Outcome = refusedAt < 0 ? bottom : { ok: false, reason: `refused by ${refusedAt}` };
  const from = refusedAt < 0 ? bs.length - 1 : refusedAt - 1;
  const told: number[] = [];
  for (let i = from; i >= 0; i--) {
    told.push(i);
    outcome = phase(bs[i] as Behaviour, i, outcome);
  }
  return { outcome, told };
}

function filterOf(b: Behaviour, i: number, told: number[]): Step {
  const later = <T>(f: () => T): T | Promise<T> => (b.async ? Promise.resolve().then(f) : f());
  const filter: Filter = {
    bind: () => (call) => {
      if (b.refuse) throw err(`refused by ${i}`);
      return {
        call,
        answered: (res) =>
          later(() => {
            told.push(i);
            const out = phase(b, i, { ok: true, status: res.status });
            if (out.ok) return out.status === res.status ? res : settledResponse({ status: out.status });
            throw err(out.reason);
          }),
        failed: (e) =>
          later(() => {
            told.push(i);
            const out = phase(b, i, { ok: false, reason: e.reason });
            if (out.ok) return settledResponse({ status: out.status });
            throw e;
          }),
      };
    },
  };
  return { name: `f${i}`, ...filterStep(filter, "client", `f${i}`) };
}

async function outcomeOf(p: Promise<MeshResponse>): Promise<Outcome> {
  return p.then(
    (r) => ({ ok: true, status: r.status }),
    (e: MeshError) => ({ ok: false, reason: e.reason }),
  );
}

const call = () => newCall({ kind: "unary", place: "client", service: "orders", method: "a.B/C" });

describe("fused filters (property)", () => {
  it("give the caller what the phases make of the outcome, innermost first, each phase told once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(behaviour, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (bs, bottomFails) => {
          const told: number[] = [];
          const handler = compose(
            "client",
            bs.map((b, i) => filterOf(b, i, told)),
            terminalStep("app", async () => {
              if (bottomFails) throw err("bottom failed");
              return settledResponse({ status: 200 });
            }),
          );
          const bottom: Outcome = bottomFails
            ? { ok: false, reason: "bottom failed" }
            : { ok: true, status: 200 };
          const expected = model(bs, bottom);
          expect(await outcomeOf(handler(call()))).toEqual(expected.outcome);
          expect(told).toEqual(expected.told);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a deadline that passes first gives its error to the phases above at once; those below hear the late answer", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          behaviour.map((b) => ({ ...b, refuse: false })),
          { minLength: 2, maxLength: 6 },
        ),
        fc.nat(),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        async (bs, at, deadlineMs, answerMs) => {
          fc.pre(deadlineMs !== answerMs);
          const clock = new FakeClock();
          const c = at % bs.length;
          const told: number[] = [];
          const steps = bs.map((b, i) => filterOf(b, i, told));
          const deadline = cutAfter(clock, deadlineMs);
          steps.splice(c, 0, { name: "deadline", ...filterStep(deadline, "client", "deadline") });
          const handler = compose(
            "client",
            steps,
            terminalStep("app", async () => {
              await sleep(clock, answerMs);
              return settledResponse({ status: 200 });
            }),
          );
          let settledTimes = 0;
          const result = outcomeOf(handler(call()).finally(() => settledTimes++));
          for (let t = 0; t < 60; t++) await clock.advance(1);
          await new Promise((r) => setTimeout(r, 0));

          const below = bs.slice(c);
          const above = bs.slice(0, c);
          if (deadlineMs < answerMs) {
            const up = model(above, { ok: false, reason: "deadline" });
            expect(await result).toEqual(up.outcome);
            // Each told once: the ones above by the cut, then the ones below by the late answer.
            expect(told).toEqual([
              ...up.told,
              ...model(below, { ok: true, status: 200 }).told.map((i) => i + c),
            ]);
          } else {
            const all = model(bs, { ok: true, status: 200 });
            expect(await result).toEqual(all.outcome);
            expect(told).toEqual(all.told);
          }
          expect(settledTimes).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
