import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { DeadlineTimers } from "../../src/resilience/deadline-timers.ts";

describe("DeadlineTimers", () => {
  it("fires each timer at its due time, never earlier, and never once cancelled", async () => {
    const clock = new FakeClock();
    const timers = new DeadlineTimers(clock);
    const fired: string[] = [];
    timers.start(100, () => fired.push(`a@${clock.now()}`));
    await clock.advance(30);
    const b = timers.start(100, () => fired.push(`b@${clock.now()}`));
    await clock.advance(10);
    timers.start(100, () => fired.push(`c@${clock.now()}`));
    timers.start(50, () => fired.push(`d@${clock.now()}`));
    b.cancel();
    b.cancel();
    await clock.advance(49);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual(["d@90"]);
    await clock.advance(9);
    expect(fired).toEqual(["d@90"]);
    await clock.advance(1);
    expect(fired).toEqual(["d@90", "a@100"]);
    await clock.advance(39);
    expect(fired).toEqual(["d@90", "a@100"]);
    await clock.advance(1);
    expect(fired).toEqual(["d@90", "a@100", "c@140"]);
  });

  it("gives timers their own clock timer once too many durations are in use", async () => {
    const clock = new FakeClock();
    const timers = new DeadlineTimers(clock);
    const fired: number[] = [];
    for (let ms = 1; ms <= 70; ms++) timers.start(ms, () => fired.push(clock.now()));
    const cancelled = timers.start(1000, () => fired.push(-1));
    cancelled.cancel();
    await clock.advance(2000);
    expect(fired).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
  });
});
