import { describe, expect, it } from "vitest";
import { DeadlineTimers } from "../../src/clock/deadline-timers.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";

describe("DeadlineTimers", () => {
  it("fires each timer at its due time, never earlier, and never once cancelled", async () => {
    const clock = new FakeClock();
    const timers = new DeadlineTimers(clock);
    const fired: string[] = [];
    timers.start(100, { deadlinePassed: () => fired.push(`a@${clock.now()}`) });
    await clock.advance(30);
    const b = timers.start(100, { deadlinePassed: () => fired.push(`b@${clock.now()}`) });
    await clock.advance(10);
    timers.start(100, { deadlinePassed: () => fired.push(`c@${clock.now()}`) });
    timers.start(50, { deadlinePassed: () => fired.push(`d@${clock.now()}`) });
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
    for (let ms = 1; ms <= 70; ms++) timers.start(ms, { deadlinePassed: () => fired.push(clock.now()) });
    const cancelled = timers.start(1000, { deadlinePassed: () => fired.push(-1) });
    cancelled.cancel();
    await clock.advance(2000);
    expect(fired).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
  });

  it("keeps firing in order after many cancelled timers are swept from the front, and reuses an emptied queue", async () => {
    const clock = new FakeClock();
    const timers = new DeadlineTimers(clock);
    const fired: number[] = [];
    const set = Array.from({ length: 3000 }, (_, i) => {
      const t = timers.start(100, { deadlinePassed: () => fired.push(i) });
      return t;
    });
    // 2,500 calls end in order: the front is compacted away; the 500 left must still fire.
    for (const t of set.slice(0, 2500)) t.cancel();
    await clock.advance(100);
    expect(fired).toEqual(Array.from({ length: 500 }, (_, i) => 2500 + i));
    // Emptied, the queue serves new timers as before.
    timers.start(100, { deadlinePassed: () => fired.push(-1) });
    const cancelled = timers.start(100, { deadlinePassed: () => fired.push(-2) });
    cancelled.cancel();
    await clock.advance(100);
    expect(fired.slice(500)).toEqual([-1]);
  });
});
